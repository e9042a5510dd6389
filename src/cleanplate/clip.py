"""A video and its mask, streamed.

A :class:`Clip` is what every engine consumes. It never holds the whole video: ``frames()`` and
``masks()`` open a fresh stream each time they are called, so an engine may read the clip more than
once (a keyframe pass, then windows) with memory bounded by what it keeps.

Layouts: frames ``(H, W, 3) uint8 RGB``; masks ``(H, W) uint8`` quadmask levels
(see :mod:`cleanplate.quadmask`).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from . import quadmask

T = TypeVar("T")


@dataclass(frozen=True)
class VideoInfo:
    """What is known about a video before decoding it."""

    width: int
    height: int
    fps: float
    num_frames: int
    timestamps: tuple[float, ...] | None = None  # seconds, one per frame (variable frame rate)
    path: str | None = None
    has_audio: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.width, self.height

    def with_(self, **changes) -> "VideoInfo":
        return replace(self, **changes)


class Clip:
    """Frames and quadmasks of one video, re-iterable and aligned one to one."""

    def __init__(
        self,
        info: VideoInfo,
        frames: Callable[[], Iterator[np.ndarray]],
        masks: Callable[[], Iterator[np.ndarray]],
    ):
        self.info = info
        self._frames = frames
        self._masks = masks

    @classmethod
    def from_arrays(cls, frames: np.ndarray, masks: np.ndarray, fps: float = 25.0) -> "Clip":
        """Wrap in-memory arrays: frames ``(T, H, W, 3) uint8``, masks ``(T, H, W)`` bool or quadmask."""
        frames = np.asarray(frames)
        masks = np.asarray(masks)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if masks.shape != frames.shape[:3]:
            raise ValueError(f"masks must be {frames.shape[:3]}, got {masks.shape}")
        if masks.dtype == bool:
            masks = quadmask.from_binary(masks)
        info = VideoInfo(width=frames.shape[2], height=frames.shape[1], fps=fps, num_frames=len(frames))
        return cls(info, lambda: iter(frames), lambda: iter(masks))

    def __len__(self) -> int:
        return self.info.num_frames

    def frames(self) -> Iterator[np.ndarray]:
        """A fresh stream of frames ``(H, W, 3) uint8 RGB``."""
        return self._frames()

    def masks(self) -> Iterator[np.ndarray]:
        """A fresh stream of quadmasks ``(H, W) uint8``."""
        return self._masks()

    def pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """A fresh stream of ``(frame, quadmask)``."""
        return zip(self.frames(), self.masks())

    def with_masks(self, masks: Callable[[], Iterator[np.ndarray]]) -> "Clip":
        """The same frames with other masks."""
        return Clip(self.info, self._frames, masks)

    def map_masks(self, fn: Callable[[np.ndarray], np.ndarray]) -> "Clip":
        """The same frames with ``fn`` applied to every mask."""
        source = self._masks
        return Clip(self.info, self._frames, lambda: (fn(m) for m in source()))

    def read(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Frames and masks ``[start, stop)`` as arrays. Loads them all: for short clips and tests."""
        pairs = list(itertools.islice(self.pairs(), start, stop))
        if not pairs:
            h, w = self.info.height, self.info.width
            return np.zeros((0, h, w, 3), np.uint8), np.zeros((0, h, w), np.uint8)
        frames, masks = zip(*pairs)
        return np.stack(frames), np.stack(masks)


def sliding_windows(items: Iterable[T], size: int, overlap: int) -> Iterator[tuple[int, list[T]]]:
    """Yield ``(start, window)`` over ``items`` with ``size`` items a window, ``overlap`` shared.

    Streams: at most ``size`` items are held. The last window may be shorter. Every item is in at
    least one window; consecutive windows share exactly ``overlap`` items.
    """
    if size < 1 or not 0 <= overlap < size:
        raise ValueError(f"need size >= 1 and 0 <= overlap < size, got size={size} overlap={overlap}")
    window: deque[T] = deque()
    start = 0
    fresh = 0
    for item in items:
        window.append(item)
        fresh += 1
        if len(window) == size:
            yield start, list(window)
            for _ in range(size - overlap):
                window.popleft()
            start += size - overlap
            fresh = 0
    if fresh and window:
        yield start, list(window)
