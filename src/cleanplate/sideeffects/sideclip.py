"""The clip with its side effects marked AFFECTED and relit, computed lazily window by window.

:class:`SideEffectClip` is a :class:`~cleanplate.clip.Clip`: ``frames()`` and ``masks()`` each open
a fresh stream. Analysis runs at working resolution on a second stream of the source that runs
one window ahead, so memory holds one window of small frames, never the video; analysed windows are
kept in a small cache shared by every stream of the same clip (the engine and the compositor read
the clip side by side), so each window is analysed once when the readers stay close together.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from typing import Iterable, Iterator

import cv2
import numpy as np

from .. import quadmask
from ..clip import Clip
from ..progress import ProgressFn, report
from .config import SideEffectConfig
from .estimate import FrameEstimate, WorkFrame, analyse_window
from .relight import apply_gain

log = logging.getLogger(__name__)


def plan_windows(items: Iterable, size: int, overlap: int) -> Iterator[tuple[int, list, int, int]]:
    """Yield ``(start, window, lo, hi)``: analyse ``window`` (items ``start...``), keep ``window[lo:hi]``.

    Consecutive windows share ``overlap`` items; each kept range starts where the last one ended, so
    every item is kept exactly once and, away from the ends, has ``overlap // 2`` items of context on
    both sides. Holds at most ``2 * size - overlap`` items.
    """
    step = size - overlap
    source = iter(items)
    window = list(itertools.islice(source, size))
    start = 0
    while window:
        ahead = list(itertools.islice(source, step)) if len(window) == size else []
        lo = 0 if start == 0 else overlap // 2
        hi = len(window) if not ahead else step + overlap // 2
        yield start, window, lo, hi
        if not ahead:
            return
        window = window[step:] + ahead
        start += step


class SideEffectClip(Clip):
    """``source`` with the estimated side effects added as AFFECTED and relit there.

    Extra stream: :meth:`soft_masks` yields the soft estimate ``(H, W) float32`` in [0, 1].
    """

    def __init__(self, source: Clip, config: SideEffectConfig, progress: ProgressFn | None = None):
        super().__init__(source.info, self._relit_frames, self._marked_masks)
        self.source = source
        self.config = config
        self.progress = progress
        w, h = source.info.size
        self.scale = min(1.0, config.work_size / max(w, h))
        self.work_size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        self._cache: OrderedDict[int, list[FrameEstimate]] = OrderedDict()
        self._lock = threading.Lock()

    # -- analysis ---------------------------------------------------------------------------------
    def _work_frame(self, frame: np.ndarray, q: np.ndarray) -> WorkFrame:
        size = self.work_size
        if self.scale == 1.0:
            return WorkFrame(frame, quadmask.object_region(q), quadmask.affected_region(q))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        obj = cv2.resize(quadmask.object_region(q).astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
        user = cv2.resize(quadmask.affected_region(q).astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
        return WorkFrame(small, obj, user)

    def estimates(self) -> Iterator[FrameEstimate]:
        """One :class:`FrameEstimate` per frame, in order (working resolution)."""
        cfg = self.config
        total = len(self.source)
        items = (self._work_frame(f, q) for f, q in self.source.pairs())
        for start, window, lo, hi in plan_windows(items, cfg.window, cfg.overlap):
            with self._lock:
                cached = self._cache.get(start)
            if cached is None:
                cached = analyse_window(window, lo, hi, cfg, self.scale)
                with self._lock:
                    self._cache[start] = cached
                    while len(self._cache) > cfg.cache_windows:
                        self._cache.popitem(last=False)
                report(self.progress, "side-effects", min(start + hi, total), total)
            yield from cached

    # -- full resolution --------------------------------------------------------------------------
    def _upsample(self, crop: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int]):
        """Bilinear upsampling of a working-resolution crop onto the full-resolution pixels it covers.

        Returns ``((Y0, Y1, X0, X1), array)``.
        """
        y0, y1, x0, x1 = box
        hh, ww = shape
        sx, sy = self.work_size[0] / ww, self.work_size[1] / hh
        X0, X1 = int(np.floor(x0 / sx)), min(int(np.ceil(x1 / sx)), ww)
        Y0, Y1 = int(np.floor(y0 / sy)), min(int(np.ceil(y1 / sy)), hh)
        # Full pixel (X, Y) samples the working image at ((X + 0.5) * sx - 0.5, ...), minus the crop origin.
        m = np.float64([[sx, 0, sx * X0 + 0.5 * sx - 0.5 - x0], [0, sy, sy * Y0 + 0.5 * sy - 0.5 - y0]])
        out = cv2.warpAffine(crop.astype(np.float32), m, (X1 - X0, Y1 - Y0),
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        return (Y0, Y1, X0, X1), out

    def _side_region(self, q: np.ndarray, est: FrameEstimate) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution ``(soft float32, new AFFECTED bool)`` of one frame."""
        soft = np.zeros(q.shape, np.float32)
        if est.box is not None:
            (y0, y1, x0, x1), up = self._upsample(est.soft, est.box, q.shape)
            soft[y0:y1, x0:x1] = np.clip(up, 0.0, 1.0)
        soft *= ~quadmask.object_region(q)
        return soft, (q == quadmask.KEEP) & (soft >= self.config.threshold)

    def mark(self, q: np.ndarray, est: FrameEstimate) -> np.ndarray:
        """The quadmask ``q`` with the estimated side effects added as AFFECTED."""
        _, new = self._side_region(q, est)
        out = q.copy()
        out[new] = quadmask.AFFECTED
        return out

    def relight(self, frame: np.ndarray, marked: np.ndarray, est: FrameEstimate) -> np.ndarray:
        """``frame`` with the shading divided out inside the AFFECTED region of ``marked`` only."""
        if est.box is None or not self.config.relight:
            return frame
        (y0, y1, x0, x1), gain = self._upsample(est.gain, est.box, marked.shape)
        region = quadmask.affected_region(marked[y0:y1, x0:x1])
        out = frame.copy()
        out[y0:y1, x0:x1] = apply_gain(frame[y0:y1, x0:x1], gain, region)
        return out

    # -- the three streams ------------------------------------------------------------------------
    def _marked_masks(self) -> Iterator[np.ndarray]:
        for q, est in zip(self.source.masks(), self.estimates()):
            yield self.mark(q, est)

    def _relit_frames(self) -> Iterator[np.ndarray]:
        for (frame, q), est in zip(self.source.pairs(), self.estimates()):
            yield self.relight(frame, self.mark(q, est), est)

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Relit frames and marked quadmasks from one shared analysis stream."""
        for (frame, q), est in zip(self.source.pairs(), self.estimates()):
            marked = self.mark(q, est)
            yield self.relight(frame, marked, est), marked

    def soft_masks(self) -> Iterator[np.ndarray]:
        """The soft side-effect estimate ``(H, W) float32`` in [0, 1] per frame (0 on the object)."""
        for q, est in zip(self.source.masks(), self.estimates()):
            yield self._side_region(q, est)[0]
