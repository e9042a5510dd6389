"""Optical flow between consecutive frames at a working resolution, and sampling it at points.

Flow is DIS (Kroeger et al., "Fast Optical Flow using Dense Inverse Search", ECCV 2016) from
OpenCV, computed on grey frames shrunk so their long side is ``working_size``. A flow field
``f`` from frame ``a`` to frame ``b`` is ``(h, w, 2) float32`` in working pixels:
``I_a(p) ~ I_b(p + f(p))``.

Coordinates: full-resolution pixel ``x`` and working pixel ``u`` share pixel centres,
``u = (x + 0.5) * s - 0.5`` with ``s = working / full`` per axis.
"""

from __future__ import annotations

import cv2
import numpy as np

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
_BLOCK = 1024  # cv2.remap wants both sides of its output below 32767: points are sampled in rows of this


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """``(h, w)`` with the long side at most ``working_size``; never larger than the frame."""
    scale = min(1.0, working_size / max(height, width))
    return max(8, round(height * scale)), max(8, round(width * scale))


class Scale:
    """Maps between full-resolution and working-resolution pixel coordinates."""

    def __init__(self, full: tuple[int, int], work: tuple[int, int]):
        self.full, self.work = full, work
        self.sy = work[0] / full[0]
        self.sx = work[1] / full[1]

    def to_work(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ((x + 0.5) * self.sx - 0.5).astype(np.float32), ((y + 0.5) * self.sy - 0.5).astype(np.float32)

    def to_full(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ((u + 0.5) / self.sx - 0.5).astype(np.float32), ((v + 0.5) / self.sy - 0.5).astype(np.float32)

    def matrix(self) -> np.ndarray:
        """3x3 affine taking full-resolution coordinates to working ones."""
        return np.array([[self.sx, 0, 0.5 * self.sx - 0.5], [0, self.sy, 0.5 * self.sy - 0.5], [0, 0, 1]])


def to_working_grey(frame: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``(H, W, 3) uint8 RGB`` -> ``(h, w) uint8`` grey at the working size."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    if grey.shape != shape:
        grey = cv2.resize(grey, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    return grey


def to_working_hole(hole: np.ndarray, shape: tuple[int, int], margin: int) -> np.ndarray:
    """Bool ``(h, w)``: every working pixel touching the full-resolution ``hole``, grown by ``margin``."""
    small = hole.astype(np.uint8)
    if small.shape != shape:
        small = cv2.resize(small * np.uint8(255), (shape[1], shape[0]), interpolation=cv2.INTER_AREA) > 0
        small = small.astype(np.uint8)
    if margin > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        small = cv2.dilate(small, kernel)
    return small.astype(bool)


def invert_flow(forward: np.ndarray, region: tuple[slice, slice] | None = None, iterations: int = 3) -> np.ndarray:
    """The backward field ``b`` of ``forward``: the fixed point of ``b(q) = -f(q + b(q))``.

    Where ``f`` folds (an occlusion) the iteration does not settle, so ``f(q + b(q)) + b(q)`` stays
    large there: the forward-backward check still finds occlusions. With ``region`` (a crop, as
    slices) the iteration runs there only; elsewhere ``b = -f``, its first-order approximation.
    """
    h, w = forward.shape[:2]
    ys_, xs_ = region if region is not None else (slice(0, h), slice(0, w))
    xs = np.arange(xs_.start, xs_.stop, dtype=np.float32)[None, :]
    ys = np.arange(ys_.start, ys_.stop, dtype=np.float32)[:, None]
    backward = -forward
    crop = backward[ys_, xs_]
    for _ in range(iterations):
        crop = cv2.remap(forward, xs + crop[..., 0], ys + crop[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
        np.negative(crop, out=crop)
    backward[ys_, xs_] = crop
    return backward


class FlowEstimator:
    """DIS optical flow from one working-size grey frame to another."""

    def __init__(self, preset: str = "medium"):
        self._dis = cv2.DISOpticalFlow_create(_PRESETS[preset])

    def __call__(self, grey_a: np.ndarray, grey_b: np.ndarray) -> np.ndarray:
        """Flow ``a -> b`` ``(h, w, 2) float32``."""
        return self._dis.calc(grey_a, grey_b, None)


def sample_points(image: np.ndarray, x: np.ndarray, y: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample ``image`` (``(h, w)`` or ``(h, w, c)``) at float points; returns ``(n,)`` or ``(n, c)`` float32.

    Points outside the image take the nearest border value.
    """
    n = len(x)
    channels = image.shape[2:] if image.ndim == 3 else ()
    if n == 0:
        return np.zeros((0, *channels), np.float32)
    rows = -(-n // _BLOCK)
    mx = np.zeros(rows * _BLOCK, np.float32)
    my = np.zeros(rows * _BLOCK, np.float32)
    mx[:n], my[:n] = x, y
    out = cv2.remap(image, mx.reshape(rows, _BLOCK), my.reshape(rows, _BLOCK), interpolation,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * _BLOCK, *channels)[:n].astype(np.float32, copy=False)
