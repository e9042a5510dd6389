"""Match the fill's colour to the frame at the hole's boundary.

Sources come from other frames, whose exposure or white balance may differ a little. Around the
hole, a thin ring of known pixels is traced like the hole itself; the difference between what the
frame shows there and what its sources predict is carried smoothly into the hole and added to the
fill: a membrane correction, the fast alternative to Poisson blending of Farbman et al.,
"Coordinates for Instant Image Cloning", SIGGRAPH 2009, here interpolated by push-pull.
"""

from __future__ import annotations

import cv2
import numpy as np

from .flow_completion import fill_smooth

RING = 3  # px: width of the known ring around the hole whose colour error is measured
_SMOOTH = 2.0  # px: Gaussian sigma over the correction, so single-pixel misalignments do not show


def ring_pixels(known: np.ndarray, unknown_pixels: np.ndarray) -> np.ndarray:
    """Flat indices of known pixels within ``RING`` px of the unknown ones (``known``: bool ``(H, W)``)."""
    height, width = known.shape
    if not len(unknown_pixels):
        return unknown_pixels
    ys, xs = np.divmod(unknown_pixels, width)
    y0, y1 = max(0, ys.min() - RING), min(height, ys.max() + RING + 1)
    x0, x1 = max(0, xs.min() - RING), min(width, xs.max() + RING + 1)
    crop = (~known[y0:y1, x0:x1]).astype(np.uint8)
    grown = cv2.dilate(crop, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1, 2 * RING + 1)))
    ry, rx = np.nonzero(grown & ~crop.astype(bool))
    return (ry + y0) * width + (rx + x0)


def correct_colours(frame: np.ndarray, pixels: np.ndarray, colours: np.ndarray, ring: np.ndarray,
                    predicted: np.ndarray, found: np.ndarray) -> np.ndarray:
    """``colours`` (fill of flat ``pixels``) plus the smooth interpolation of the ring's error.

    ``predicted``: the fill's colours on the ``ring`` pixels, valid where ``found``.
    """
    ring, predicted = ring[found], predicted[found]
    if not len(ring) or not len(pixels):
        return colours
    height, width = frame.shape[:2]
    both = np.concatenate([pixels, ring])
    ys, xs = np.divmod(both, width)
    y0, x0 = ys.min(), xs.min()
    shape = (ys.max() - y0 + 1, xs.max() - x0 + 1)
    error = np.zeros((*shape, 3), np.float32)
    valid = np.zeros(shape, bool)
    ry, rx = ys[len(pixels):] - y0, xs[len(pixels):] - x0
    error[ry, rx] = frame.reshape(-1, 3)[ring].astype(np.float32) - predicted
    valid[ry, rx] = True
    field = cv2.GaussianBlur(fill_smooth(error, valid), (0, 0), _SMOOTH)
    return colours + field[ys[:len(pixels)] - y0, xs[:len(pixels)] - x0]
