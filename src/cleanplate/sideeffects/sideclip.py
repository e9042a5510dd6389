"""The clip with its side effects marked AFFECTED and relit, computed lazily window by window.

:class:`SideEffectClip` is a :class:`~cleanplate.clip.Clip`: ``frames()`` and ``masks()`` each open
a fresh stream. Analysis runs at working resolution on a second stream of the source that runs
one window ahead, so memory holds one window of small frames, never the video. Analysed windows are
kept in a small cache shared by every stream of the same clip (the engine and the compositor read
the clip side by side): a window is analysed, and the source read for it, once, as long as the
readers stay within ``cache_windows`` windows of each other. Windows are analysed in a worker
thread, the next one while the engine works on this one's frames.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator

import cv2
import numpy as np

from .. import quadmask
from ..clip import Clip
from ..progress import ProgressFn, report
from .config import SideEffectConfig
from .estimate import FrameEstimate, WorkFrame, analyse_window
from .mirror import Mirror, carry_mirrors, find_mirrors, mirror_band
from .relight import apply_gain

MIRROR_HOLD = 4  # frames in a row a reflecting surface is carried over when the search misses it
SHARED_DECODE_BYTES = 256 << 20  # hold a window of full-resolution frames (and masks) up to this size
PREPARED_BYTES = 64 << 20  # relit and marked crops kept for the clip's next stream, at most


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


def _nbytes(prepared: tuple) -> int:
    """Bytes held by one prepared frame ``(box, marks, relit)``."""
    return sum(a.nbytes for a in prepared[1:] if a is not None)


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


class _Published:
    """The estimates of one window, handed out one by one as the worker makes them.

    A reader can go on with a window's first frames (the engine works on them) while the rest are
    estimated; ``get`` waits only for the estimate it asks for.
    """

    def __init__(self, future: Future | None = None, items: list[FrameEstimate] | None = None):
        self.future = future  # the worker's job: raises its error, if any
        self.items: list[FrameEstimate] = list(items or [])
        self.complete = items is not None
        self._ready = threading.Condition()

    def add(self, estimate: FrameEstimate) -> None:
        with self._ready:
            self.items.append(estimate)
            self._ready.notify_all()

    def finish(self) -> None:
        with self._ready:
            self.complete = True
            self._ready.notify_all()

    def get(self, k: int) -> FrameEstimate | None:
        """The ``k``-th estimate, once made; None when the window has no more (the source ended)."""
        with self._ready:
            self._ready.wait_for(lambda: k < len(self.items) or self.complete)
            if k < len(self.items):
                return self.items[k]
        if self.future is not None:
            self.future.result()  # the worker's error, raised here
        return None


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
        self._mirrors: OrderedDict[int, tuple[list[Mirror], int]] = OrderedDict()  # (mirrors, frames carried)
        # per frame: (full-resolution box, marked quadmask there, relit frame there or None), and their bytes
        self._prepared: OrderedDict[int, tuple[tuple[int, int, int, int] | None, np.ndarray | None,
                                               np.ndarray | None]] = OrderedDict()
        self._prepared_bytes = 0
        self._pending: dict[int, _Published] = {}  # windows being analysed, by first frame
        self._worker: ThreadPoolExecutor | None = None  # analyses windows, one at a time
        self._lock = threading.Lock()

    # -- analysis ---------------------------------------------------------------------------------
    def _work_frame(self, frame: np.ndarray, q: np.ndarray) -> WorkFrame:
        size = self.work_size
        if self.scale == 1.0:
            return WorkFrame(frame, quadmask.object_region(q), quadmask.affected_region(q))
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        return WorkFrame(small, self._shrink(quadmask.object_region(q)), self._shrink(quadmask.affected_region(q)))

    def _shrink(self, mask: np.ndarray) -> np.ndarray:
        """A full-resolution bool mask at working resolution: the pixels it touches (an empty one costs nothing)."""
        if not mask.any():
            return np.zeros(self.work_size[::-1], bool)
        return cv2.resize(mask.astype(np.uint8) * 255, self.work_size, interpolation=cv2.INTER_AREA) > 0

    def estimates(self) -> Iterator[FrameEstimate]:
        """One :class:`FrameEstimate` per frame, in order (working resolution).

        The source is read only for windows no other stream has analysed yet (and kept in the cache).
        """
        for _, est in self._estimated(None):
            yield est

    def _known(self, start: int, locked: bool = False) -> _Published | None:
        """The window starting at ``start`` if it is analysed or being analysed."""
        with contextlib.nullcontext() if locked else self._lock:
            if start in self._cache:
                return _Published(items=self._cache[start])
            return self._pending.get(start)

    def _analysis(self, span: tuple[int, int, int, int], frames: Callable[[], list[WorkFrame] | None],
                  full: list[tuple[int, tuple[np.ndarray, np.ndarray]]] = ()) -> _Published:
        """The analysis of the window ``span``, run by the clip's worker thread on ``frames()``.

        Every stream of the clip shares it: a window already analysed, or being analysed, is not
        started again. Its estimates are published one by one; the whole list (None when the source
        ended before the window) is cached. The reflecting surfaces of the ``full``
        ``(index, (frame, quadmask))`` (the kept frames, when at hand) are looked for there too,
        each just before its frame's estimate is published.
        """
        start, _, lo, hi = span
        published = _Published()
        kept = iter(full)

        def publish(estimate: FrameEstimate) -> None:
            frame = next(kept, None)
            if frame is not None:
                self.reflections(frame[0], *frame[1])
            published.add(estimate)

        def job() -> list[FrameEstimate] | None:
            try:
                window = frames()
                out = (analyse_window(window, lo, min(hi, len(window)), self.config, self.scale, publish=publish)
                       if window else None)
                with self._lock:
                    self._pending.pop(start, None)
                    if out is not None:
                        self._cache[start] = out
                        while len(self._cache) > self.config.cache_windows:
                            self._cache.popitem(last=False)
                for index, pair in kept:
                    self.reflections(index, *pair)
                return out
            finally:
                published.finish()

        with self._lock:  # held until the window is registered, so the job cannot pop it first
            known = self._known(start, locked=True)
            if known is None:
                if self._worker is None:
                    self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cleanplate-side-effects")
                known = self._pending[start] = published
                published.future = self._worker.submit(job)
            return known

    def _estimated(self, pairs: Iterator[tuple[np.ndarray, np.ndarray]] | None
                   ) -> Iterator[tuple[tuple[np.ndarray, np.ndarray] | None, FrameEstimate]]:
        """``((frame, quadmask), estimate)`` per frame, reading ``pairs`` (the source's full-resolution
        stream, or None for estimates alone) once.

        A window not yet analysed needs its frames ahead of the one being yielded: when a window of
        full-resolution frames fits in ``SHARED_DECODE_BYTES``, they are held from ``pairs`` and
        shrunk for the analysis (and searched for reflecting surfaces) in the worker thread, so the
        source is decoded once for both; otherwise (4K) a second reader of the source runs ahead at
        working resolution, in the worker thread.

        While a window's frames are yielded (and the engine works on them), the next window is
        analysed in the worker thread: the engine leaves most of a second core idle. With shared
        decoding this holds the next window's frames too, so it is done only where both windows
        fit in ``SHARED_DECODE_BYTES``.
        """
        cfg = self.config
        total = len(self.source)
        w, h = self.source.info.size
        share = pairs is not None and cfg.window * w * h * 4 <= SHARED_DECODE_BYTES
        ahead = not share or (2 * cfg.window - cfg.overlap) * w * h * 4 <= SHARED_DECODE_BYTES
        held: list[tuple[np.ndarray, np.ndarray]] = []
        first = 0  # clip index of held[0]
        shrunk: dict[int, WorkFrame] = {}  # working copies of held frames, made and read by the worker only
        reader: list[_WindowReader] = []  # this stream's second reader, used by the worker only
        ended = False

        def hold(upto: int) -> None:
            nonlocal ended
            while first + len(held) < upto and not ended:
                pair = next(pairs, None)
                if pair is None:
                    ended = True
                    break
                held.append(pair)

        def shrink(window: list[tuple[int, tuple[np.ndarray, np.ndarray]]]) -> list[WorkFrame]:
            for index in [i for i in shrunk if i < window[0][0]]:
                del shrunk[index]
            for index, pair in window:
                if index not in shrunk:
                    shrunk[index] = self._work_frame(*pair)
            return [shrunk[index] for index, _ in window]

        def read_window(start: int, stop: int) -> list[WorkFrame] | None:
            window = reader[0].take(start, stop) if reader else None
            if window is None:
                reader[:] = [_WindowReader(self._work_frame(f, q) for f, q in self.source.pairs())]
                window = reader[0].take(start, stop)
            return window

        def launch(span: tuple[int, int, int, int]) -> _Published:
            start, stop = span[:2]
            known = self._known(start)
            if known is not None:
                return known
            if share:
                hold(stop)
                window = [(first + i, pair) for i, pair in enumerate(held) if start <= first + i < stop]
                kept = window[span[2]:span[3]]
                return self._analysis(span, lambda: shrink(window) if window else None, kept)
            return self._analysis(span, lambda: read_window(start, stop))

        spans = window_spans(total, cfg.window, cfg.overlap)
        for n, (start, stop, lo, hi) in enumerate(spans):
            window = launch(spans[n])
            if ahead and n + 1 < len(spans):  # queued behind this one; its frames decoded meanwhile
                launch(spans[n + 1])
            for k in itertools.count():
                est = window.get(k)
                if est is None:
                    if k == 0:
                        return
                    break
                index = start + lo + k
                if index + 1 == min(start + hi, total):  # the window's last estimate: its analysis is done
                    report(self.progress, "side-effects", index + 1, total)
                if pairs is None:
                    yield None, est
                    continue
                hold(index + 1)
                if index - first >= len(held):
                    return
                pair = held[index - first]
                drop = index + 1 - first  # keep nothing before this frame ...
                if share:  # ... except what the next window shares
                    drop = min(drop, max(0, start + cfg.window - cfg.overlap - first))
                del held[:drop]
                first += drop
                yield pair, est

    # -- full resolution --------------------------------------------------------------------------
    def _full_box(self, box: tuple[int, int, int, int], shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(Y0, Y1, X0, X1)``: the full-resolution pixels a working-resolution ``box`` covers."""
        y0, y1, x0, x1 = box
        hh, ww = shape
        sx, sy = self.work_size[0] / ww, self.work_size[1] / hh
        return (int(np.floor(y0 / sy)), min(int(np.ceil(y1 / sy)), hh),
                int(np.floor(x0 / sx)), min(int(np.ceil(x1 / sx)), ww))

    def _upsample(self, crop: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int]):
        """Bilinear upsampling of a working-resolution crop onto the full-resolution pixels it covers.

        Returns ``((Y0, Y1, X0, X1), array)``.
        """
        y0, y1, x0, x1 = box
        hh, ww = shape
        sx, sy = self.work_size[0] / ww, self.work_size[1] / hh
        Y0, Y1, X0, X1 = self._full_box(box, shape)
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
        out = q.copy()
        if est.box is not None:  # as in _side_region, on the estimate's box only
            (y0, y1, x0, x1), up = self._upsample(est.soft, est.box, q.shape)
            crop = out[y0:y1, x0:x1]
            crop[(crop == quadmask.KEEP) & (up >= self.config.threshold)] = quadmask.AFFECTED
        return out

    def reflections(self, index: int, frame: np.ndarray, q: np.ndarray) -> list[Mirror]:
        """The reflecting surfaces under the object in frame ``index``, found once per frame for
        every stream of the clip. Looked for even where the estimate found nothing: it looks for a
        reflection right under the object, and one lifted off the surface mirrors further down.
        Where the search misses a surface the last frame had, that one is carried over, for up to
        ``MIRROR_HOLD`` frames in a row (see :func:`.mirror.carry_mirrors`)."""
        if not self.config.reflections:
            return []
        with self._lock:
            known = self._mirrors.get(index)
            last = self._mirrors.get(index - 1)
        if known is None:
            obj = quadmask.object_region(q)
            known = (find_mirrors(frame, obj), 0)
            if not known[0] and last is not None and last[0] and last[1] < MIRROR_HOLD:
                known = (carry_mirrors(last[0], obj), last[1] + 1)
            with self._lock:
                self._mirrors[index] = known
                while len(self._mirrors) > 2 * self.config.window:
                    self._mirrors.popitem(last=False)
        return known[0]

    def mirrors(self, index: int) -> list[Mirror]:
        """What :meth:`reflections` found in frame ``index``, once a stream has read that frame
        (the mirror fill after the engine uses it: see :mod:`.mirror`)."""
        with self._lock:
            return self._mirrors.get(index, ([], 0))[0]

    def relight(self, frame: np.ndarray, marked: np.ndarray, est: FrameEstimate,
                mirrors: list[Mirror] = ()) -> np.ndarray:
        """``frame`` with the shading divided out inside the AFFECTED region of ``marked`` only.

        A reflection is not a change of shading: the water under each of ``mirrors`` is left as it
        is, for the mirror fill to rebuild.
        """
        if est.box is None or not self.config.relight:
            return frame
        (y0, y1, x0, x1), gain = self._upsample(est.gain, est.box, marked.shape)
        region = quadmask.affected_region(marked[y0:y1, x0:x1])
        if mirrors:
            region &= ~mirror_band(mirrors, marked.shape)[y0:y1, x0:x1]
        out = frame.copy()
        out[y0:y1, x0:x1] = apply_gain(frame[y0:y1, x0:x1], gain, region)
        return out

    # -- the three streams ------------------------------------------------------------------------
    def _marked_masks(self) -> Iterator[np.ndarray]:
        for q, est in zip(self.source.masks(), self.estimates()):
            yield self.mark(q, est)

    def _relit_frames(self) -> Iterator[np.ndarray]:
        for frame, _ in self.pairs():
            yield frame

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Relit frames and marked quadmasks, the source decoded once for them and the analysis."""
        for index, ((frame, q), est) in enumerate(self._estimated(self.source.pairs())):
            yield self._prepare(index, frame, q, est)

    def _prepare(self, index: int, frame: np.ndarray, q: np.ndarray, est: FrameEstimate
                 ) -> tuple[np.ndarray, np.ndarray]:
        """``(relit frame, marked quadmask)`` of frame ``index``.

        The engine and the compositor read the clip side by side: the first stream to reach a frame
        marks and relights it and keeps what changed (only inside the estimate's box) for the next,
        which pastes it into its own copy of the same decoded frame (up to ``PREPARED_BYTES``).
        """
        mirrors = self.reflections(index, frame, q)
        with self._lock:
            kept = self._prepared.pop(index, None)
            if kept is not None:
                self._prepared_bytes -= _nbytes(kept)
        if kept is not None:
            box, marks, relit = kept
            marked = q.copy()
            if box is None:
                return frame, marked
            crop = np.s_[box[0]:box[1], box[2]:box[3]]
            marked[crop] = marks
            if relit is not None:
                frame = frame.copy()
                frame[crop] = relit
            return frame, marked
        marked = self.mark(q, est)
        out = self.relight(frame, marked, est, mirrors)
        box = None if est.box is None else self._full_box(est.box, q.shape)
        crop = np.s_[box[0]:box[1], box[2]:box[3]] if box is not None else None
        kept = (box, None if box is None else marked[crop].copy(),
                None if box is None or out is frame else out[crop].copy())
        size = _nbytes(kept)
        with self._lock:
            self._prepared[index] = kept
            self._prepared_bytes += size
            while self._prepared_bytes > PREPARED_BYTES and self._prepared:
                _, old = self._prepared.popitem(last=False)
                self._prepared_bytes -= _nbytes(old)
        return out, marked

    def map_masks(self, fn) -> Clip:
        """The same clip with ``fn`` applied to every marked quadmask; its ``pairs()`` stays one stream
        (the source decoded once, each frame marked once)."""
        return _MappedSideEffectClip(self, fn)

    def soft_masks(self) -> Iterator[np.ndarray]:
        """The soft side-effect estimate ``(H, W) float32`` in [0, 1] per frame (0 on the object)."""
        for q, est in zip(self.source.masks(), self.estimates()):
            yield self._side_region(q, est)[0]


class _MappedSideEffectClip(Clip):
    """A :class:`SideEffectClip` with a function applied to its marked quadmasks (see ``map_masks``)."""

    def __init__(self, side: SideEffectClip, fn):
        super().__init__(side.info, side.frames, lambda: (fn(m) for m in side.masks()))
        self.side = side
        self.fn = fn

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for frame, q in self.side.pairs():
            yield frame, self.fn(q)

    def mirrors(self, index: int) -> list[Mirror]:
        return self.side.mirrors(index)

    def map_masks(self, fn) -> Clip:
        inner = self.fn
        return _MappedSideEffectClip(self.side, lambda q: fn(inner(q)))
