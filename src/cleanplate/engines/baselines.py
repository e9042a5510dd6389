"""Baseline engines the benchmark runs beside ours.

- ``telea``: per-frame image inpainting, OpenCV's Telea (2004) fast marching method.
- ``median``: temporal median of each pixel over the frames where it is outside the hole, per window;
  falls back to Telea where a pixel is never visible in its window.
- ``input``: returns the input untouched (the "do nothing" floor).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Iterator

import cv2
import numpy as np

from .. import quadmask
from ..clip import Clip, sliding_windows
from ..progress import ProgressFn, report
from . import register
from .base import Engine


def telea_inpaint(frame: np.ndarray, hole: np.ndarray, radius: int = 5) -> np.ndarray:
    """Inpaint ``hole`` (bool ``(H, W)``) in one RGB frame with Telea's method."""
    if not hole.any():
        return frame.copy()
    return cv2.inpaint(frame, hole.astype(np.uint8), radius, cv2.INPAINT_TELEA)


@dataclasses.dataclass
class TeleaConfig:
    radius: int = 5  # neighbourhood of the fast marching method, in pixels


@register
class TeleaEngine(Engine):
    """Per-frame Telea inpainting: no temporal information at all."""

    name = "telea"
    Config = TeleaConfig

    def fill(self, clip: Clip, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
        total = len(clip)
        for i, (frame, mask) in enumerate(clip.pairs()):
            yield telea_inpaint(frame, quadmask.hole(mask), self.config.radius)
            report(progress, "fill", i + 1, total)


@dataclasses.dataclass
class MedianConfig:
    window: int = 30  # frames per window; memory grows with it


@register
class MedianEngine(Engine):
    """Temporal median of the visible samples of each pixel, in non-overlapping windows."""

    name = "median"
    Config = MedianConfig

    def fill(self, clip: Clip, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
        total = len(clip)
        done = 0
        for _, window in sliding_windows(clip.pairs(), self.config.window, 0):
            frames = np.stack([f for f, _ in window]).astype(np.float32)
            holes = np.stack([quadmask.hole(m) for _, m in window])
            samples = np.where(holes[..., None], np.nan, frames)
            with warnings.catch_warnings():  # pixels hidden in every frame give an all-NaN slice
                warnings.simplefilter("ignore", RuntimeWarning)
                median = np.nanmedian(samples, axis=0)
            never = np.isnan(median[..., 0])
            median = np.nan_to_num(median).round().astype(np.uint8)
            for frame, hole in zip(frames.astype(np.uint8), holes):
                out = np.where(hole[..., None], median, frame)
                yield telea_inpaint(out, hole & never)
                done += 1
                report(progress, "fill", done, total)


@register
class InputEngine(Engine):
    """Returns the input unchanged: the score of doing nothing."""

    name = "input"

    def fill(self, clip: Clip, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
        for i, frame in enumerate(clip.frames()):
            yield frame
            report(progress, "fill", i + 1, len(clip))
