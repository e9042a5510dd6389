"""The ``propagate`` engine: stream the clip through overlapping windows."""

from __future__ import annotations

import logging
from typing import Iterable, Iterator

import numpy as np

from ...clip import Clip
from ...progress import ProgressFn, report
from .. import register
from ..base import Engine
from .config import PropagateConfig
from .flow import FlowEstimator, Scale, working_shape
from .flow_completion import complete_pair
from .propagation import PairFlow
from .window import FrameState, solve_window

log = logging.getLogger(__name__)


def _pair_flow(estimator: FlowEstimator, a: FrameState, b: FrameState, two_way: bool) -> PairFlow:
    """Completed flows between consecutive frames ``a`` and ``b``."""
    backward = estimator(b.grey, a.grey) if two_way else None
    return PairFlow(*complete_pair(estimator(a.grey, b.grey), a.hole | b.hole, backward))


def propagate_frames(pairs: Iterable[tuple[np.ndarray, np.ndarray]], config: PropagateConfig) -> Iterator[np.ndarray]:
    """Completed frames ``(H, W, 3) uint8 RGB``, one per ``(frame, quadmask)`` pair, in order.

    Holds at most ``config.window`` frames. Each window finishes its frames except the last
    ``lookahead`` (which only lend sources); the last ``overlap`` finished frames stay as known
    sources of the next window, so its fill continues theirs.

    The flow of a pair that touches a hole is computed as soon as its second frame arrives, the
    rest only when a window needs them: a source that makes frames slowly (side-effect analysis)
    then has the flow computed meanwhile. Each pair's flow depends on that pair alone, so the
    result is the same either way.
    """
    states: list[FrameState] = []
    flows: dict[int, PairFlow] = {}  # keyed by the global index of the pair's first frame
    base = 0  # global index of states[0]
    stream = iter(pairs)
    exhausted = False
    scale = estimator = None
    while True:
        while len(states) < config.window and not exhausted:
            try:
                frame, quad = next(stream)
            except StopIteration:
                exhausted = True
                break
            if scale is None:
                scale = Scale(frame.shape[:2], working_shape(*frame.shape[:2], config.working_size))
                estimator = FlowEstimator(config.flow_preset)
            states.append(FrameState.new(frame, quad, scale, config))
            k = len(states) - 2
            if k >= 0 and base + k not in flows and (states[k].hole.any() or states[k + 1].hole.any()):
                flows[base + k] = _pair_flow(estimator, states[k], states[k + 1], config.flow_two_way)
        unfinished = [k for k, s in enumerate(states) if not s.finished]
        if not unfinished:
            return
        first = unfinished[0]
        count = len(unfinished) if exhausted else len(unfinished) - config.lookahead
        if any(not states[k].known.all() for k in range(first, first + count)):
            for k in range(len(states) - 1):
                if base + k not in flows:
                    a, b = states[k], states[k + 1]
                    flows[base + k] = _pair_flow(estimator, a, b, config.flow_two_way)
            window_flows = [flows[base + k] for k in range(len(states) - 1)]
            outputs = solve_window(states, window_flows, first, count, scale, config)
        else:
            outputs = [states[k].image for k in range(first, first + count)]
        for k, out in enumerate(outputs):
            states[first + k].finish(out)
            yield out
        drop = max(0, first + count - config.overlap)
        states = states[drop:]
        base += drop
        flows = {t: f for t, f in flows.items() if t >= base}
        log.debug("window done: finished %d frames, next window starts at frame %d", count, base)


@register
class PropagateEngine(Engine):
    """Flow-guided video completion on the CPU, no learned weights (see the package docstring)."""

    name = "propagate"
    Config = PropagateConfig

    def fill(self, clip: Clip, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
        total = len(clip)
        for done, frame in enumerate(propagate_frames(clip.pairs(), self.config), start=1):
            yield frame
            report(progress, "fill", done, total)
