"""The clip with its side effects marked AFFECTED and relit, computed lazily window by window.

:class:`SideEffectClip` is a :class:`~cleanplate.clip.Clip`: ``frames()`` and ``masks()`` each open
a fresh stream. Analysis runs at working resolution on a second stream of the source that runs
one window ahead, so memory holds one window of small frames, never the video. Analysed windows are
kept in a small cache shared by every stream of the same clip (the engine and the compositor read
the clip side by side): a window is analysed, and the source read for it, once, as long as the
readers stay within ``cache_windows`` windows of each other.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from typing import Iterator

import cv2
import numpy as np

from .. import quadmask
from ..clip import Clip
from ..progress import ProgressFn, report
from .config import SideEffectConfig
from .estimate import FrameEstimate, WorkFrame, analyse_window
from .relight import apply_gain



def window_spans(total: int, size: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(start, stop, lo, hi)`` per window: analyse frames ``[start, stop)``, keep ``[start + lo, start + hi)``.

    Consecutive windows share ``overlap`` frames; each kept range starts where the last one ended, so
    every frame is kept exactly once and, away from the ends, has ``overlap // 2`` frames of context on
    both sides.
    """
    step = size - overlap
    spans, start = [], 0
    while start < total:
        stop = min(start + size, total)
        last = stop == total
        lo = 0 if start == 0 else overlap // 2
        hi = stop - start if last else step + overlap // 2
        spans.append((start, stop, lo, hi))
        if last:
            break
        start += step
    return spans


class _WindowReader:
    """Working-resolution frames of a clip, read forward on demand, keeping what the next window shares."""

    def __init__(self, frames: Iterator[WorkFrame]):
        self.source = frames
        self.buffer: list[WorkFrame] = []
        self.first = 0  # clip index of buffer[0]

    def take(self, start: int, stop: int) -> list[WorkFrame] | None:
        """Frames ``[start, stop)`` (fewer at the clip's end); None if ``start`` was already dropped."""
        if start < self.first:
            return None
        drop = start - self.first
        if drop >= len(self.buffer):  # past everything held: skip what lies between
            for _ in itertools.islice(self.source, drop - len(self.buffer)):
                pass
            self.buffer = []
        else:
            self.buffer = self.buffer[drop:]
        self.first = start
        self.buffer += itertools.islice(self.source, stop - start - len(self.buffer))
        return list(self.buffer)


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
        """One :class:`FrameEstimate` per frame, in order (working resolution).

        The source is read only for windows no other stream has analysed yet (and kept in the cache).
        """
        cfg = self.config
        total = len(self.source)
        reader = None
        for start, stop, lo, hi in window_spans(total, cfg.window, cfg.overlap):
            with self._lock:
                cached = self._cache.get(start)
            if cached is None:
                window = reader.take(start, stop) if reader is not None else None
                if window is None:
                    reader = _WindowReader(self._work_frame(f, q) for f, q in self.source.pairs())
                    window = reader.take(start, stop)
                if not window:
                    return
                cached = analyse_window(window, lo, min(hi, len(window)), cfg, self.scale)
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
