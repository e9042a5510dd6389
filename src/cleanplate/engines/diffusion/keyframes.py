"""Keyframe-guided propagation (UnderEraser, §3.4, eq. 7): any length, memory bounded by the window.

A clip of ``F`` frames longer than the window ``W`` is processed in two passes:

1. **Keyframes.** Every ``k``-th frame, ``k = ceil(F / W)`` (eq. 7), is taken out and the object is
   removed from these ``ceil(F / k) <= W`` frames as one clip. Seeing the whole video at once, sparsely,
   they agree with each other about what lies behind the object.
2. **Windows.** The clip is cut into ``W``-frame windows that start on a keyframe. Inside each window
   the cleaned keyframes are injected as known frames (their mask is KEEP), so each window is a
   constrained interpolation between keyframes. Consecutive windows overlap from the last keyframe
   of the earlier one: the overlapping frames are dropped from the later window.

When keyframes are further apart than a window (``F > W (W - 1)``, about 4.5 minutes at 24 fps with
``W = 81``) no window can reach from one keyframe to the next; windows then overlap by one frame and
the first frame of each later window is the previous window's last output, injected as known.

The arithmetic (:func:`plan_keyframes`) is pure Python; :func:`keyframe_guided` drives any
``generate`` function over a stream, so it is tested without a network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import numpy as np

from ... import quadmask
from ...clip import sliding_windows
from ...progress import ProgressFn, report

# One frame of work: (frame (H, W, 3) uint8, quadmask (H, W) uint8, prior (H, W, 3) uint8 or None).
Item = tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]
# generate(frames (T, H, W, 3), quadmasks (T, H, W), priors (T, H, W, 3) or None, stage) -> (T, H, W, 3)
GenerateFn = Callable[[np.ndarray, np.ndarray, Optional[np.ndarray], str], np.ndarray]


def keyframe_step(num_frames: int, window: int) -> int:
    """Eq. 7: ``k = ceil(F / W)``, so that at most ``W`` keyframes cover the clip."""
    return max(1, math.ceil(num_frames / window))


@dataclass(frozen=True)
class KeyframePlan:
    """Which frames are keyframes and which windows cover the clip.

    ``windows`` are ``[start, stop)`` spans; ``emit[i]`` is the span window ``i`` contributes to the
    output (its frames not already given by the window before it).
    """

    num_frames: int
    window: int
    step: int
    keyframes: tuple[int, ...]
    windows: tuple[tuple[int, int], ...]
    emit: tuple[tuple[int, int], ...]
    chained: bool  # keyframes further apart than a window: windows hand their last frame on

    @property
    def stride(self) -> int:
        if len(self.windows) < 2:
            return self.window
        return self.windows[1][0] - self.windows[0][0]

    @property
    def overlap(self) -> int:
        return self.window - self.stride

    def known_frames(self, index: int) -> tuple[int, ...]:
        """Frames of window ``index`` given to the model as known (mask KEEP)."""
        start, stop = self.windows[index]
        known = [f for f in self.keyframes if start <= f < stop]
        if self.chained and index > 0 and start not in known:
            known.insert(0, start)
        return tuple(known)


def plan_keyframes(num_frames: int, window: int) -> KeyframePlan:
    """The keyframes and windows for a clip of ``num_frames`` processed ``window`` frames at a time."""
    if num_frames < 1 or window < 2:
        raise ValueError(f"need num_frames >= 1 and window >= 2, got {num_frames}, {window}")
    if num_frames <= window:
        return KeyframePlan(num_frames, window, 1, (), ((0, num_frames),), ((0, num_frames),), False)
    step = keyframe_step(num_frames, window)
    keyframes = tuple(range(0, num_frames, step))
    chained = step > window - 1
    stride = window - 1 if chained else step * ((window - 1) // step)
    windows, emit = [], []
    start, emitted = 0, 0
    while True:
        stop = min(start + window, num_frames)
        windows.append((start, stop))
        emit.append((emitted, stop))
        emitted = stop
        if stop >= num_frames:
            break
        start += stride
    return KeyframePlan(num_frames, window, step, keyframes, tuple(windows), tuple(emit), chained)


def _stack(items: list[Item]) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    frames = np.stack([f for f, _, _ in items])
    masks = np.stack([m for _, m, _ in items])
    priors = None if items[0][2] is None else np.stack([p for _, _, p in items])
    return frames, masks, priors


def _known(frame: np.ndarray) -> np.ndarray:
    return np.full(frame.shape[:2], quadmask.KEEP, np.uint8)


def keyframe_guided(
    items: Callable[[], Iterator[Item]],
    plan: KeyframePlan,
    generate: GenerateFn,
    progress: ProgressFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield one cleaned frame per input frame, in order, following ``plan``.

    ``items()`` opens a fresh stream of ``(frame, quadmask, prior)``; it is read once for the
    keyframes and once for the windows. At most ``plan.window`` frames are held (the cleaned
    keyframes and one window).
    """
    total = len(plan.windows) + (1 if plan.keyframes else 0)
    done = 0
    clean: dict[int, np.ndarray] = {}
    if plan.keyframes:
        wanted = set(plan.keyframes)
        picked = [item for i, item in enumerate(items()) if i in wanted]
        if len(picked) != len(plan.keyframes):
            raise RuntimeError(f"clip gave {len(picked)} of {len(plan.keyframes)} keyframes")
        frames, masks, priors = _stack(picked)
        clean = dict(zip(plan.keyframes, generate(frames, masks, priors, "keyframes")))
        del picked, frames, masks, priors
        done += 1
        report(progress, "windows", done, total)

    last: np.ndarray | None = None
    spans = iter(zip(plan.windows, plan.emit))
    for index, (start, window) in enumerate(sliding_windows(items(), plan.window, plan.overlap)):
        (w_start, w_stop), (e_start, e_stop) = next(spans)
        if start != w_start or start + len(window) != w_stop:
            raise RuntimeError(f"window {index} is [{start}, {start + len(window)}), planned [{w_start}, {w_stop})")
        window = list(window)
        for j in range(len(window)):
            frame, mask, prior = window[j]
            given = clean.get(start + j)
            if given is None and plan.chained and j == 0:
                given = last
            if given is not None:  # a known frame: its own prior too, so the start point agrees with it
                window[j] = (given, _known(frame), None if prior is None else given)
        frames, masks, priors = _stack(window)
        out = generate(frames, masks, priors, "window")
        done += 1
        report(progress, "windows", done, total)
        last = clean.get(w_stop - 1, out[-1])
        for i in range(e_start, e_stop):
            yield clean.get(i, out[i - start])
