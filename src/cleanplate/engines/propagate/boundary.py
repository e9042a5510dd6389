"""The hole's boundary: keep its edge out of the sources, and match the fill's colour there.

Masks are rarely exact: an object's blurred or anti-aliased edge, or a lossy mask, leaves a trace of
it just outside the hole. Pixels within ``source_margin`` of the hole are therefore not used as
sources (:func:`usable_sources`); they are traced like the hole instead.

Sources come from other frames, whose exposure or white balance may differ a little. On a ring of
``RING`` px just beyond that margin (:func:`ring_pixels`), traced too, the difference between what
the frame shows and what its sources predict is carried smoothly into the hole and added to the
fill (:func:`correct_colours`): a membrane correction, the fast alternative to Poisson blending of
Farbman et al., "Coordinates for Instant Image Cloning", SIGGRAPH 2009, here interpolated by
push-pull.
"""

from __future__ import annotations

import cv2
import numpy as np

from .flow_completion import fill_smooth

RING = 3  # px: width of the ring of sources, just beyond the margin, whose colour error is measured
_SMOOTH = 4.0  # px: Gaussian sigma over the correction, so single-pixel misalignments do not show
_CLAMP = 20.0  # grey levels: a larger error on the ring is a misaligned edge, not exposure


def usable_sources(hole: np.ndarray, margin: int) -> np.ndarray:
    """Bool ``(H, W)``: pixels farther than ``margin`` px from ``hole`` (bool ``(H, W)``)."""
    if margin <= 0 or not hole.any():
        return ~hole
    height, width = hole.shape
    ys = np.flatnonzero(hole.any(axis=1))
    xs = np.flatnonzero(hole.any(axis=0))
    y0, y1 = max(0, ys[0] - margin), min(height, ys[-1] + margin + 1)
    x0, x1 = max(0, xs[0] - margin), min(width, xs[-1] + margin + 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    usable = np.ones_like(hole)
    usable[y0:y1, x0:x1] = cv2.dilate(hole[y0:y1, x0:x1].astype(np.uint8), kernel) == 0
    return usable


def ring_pixels(known: np.ndarray, unknown_pixels: np.ndarray) -> np.ndarray:
    """Flat indices of ``known`` pixels within ``RING`` px of the flat ``unknown_pixels``."""
    height, width = known.shape
    if not len(unknown_pixels):
        return unknown_pixels
    ys, xs = np.divmod(unknown_pixels, width)
    y0, y1 = max(0, ys.min() - RING), min(height, ys.max() + RING + 1)
    x0, x1 = max(0, xs.min() - RING), min(width, xs.max() + RING + 1)
    crop = known[y0:y1, x0:x1]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING + 1, 2 * RING + 1))
    near = cv2.dilate((~crop).astype(np.uint8), kernel).astype(bool) & crop
    ry, rx = np.nonzero(near)
    return (ry + y0) * width + (rx + x0)


def correct_colours(frame: np.ndarray, pixels: np.ndarray, colours: np.ndarray, ring: np.ndarray,
                    predicted: np.ndarray, found: np.ndarray) -> np.ndarray:
    """``colours`` (fill of flat ``pixels``) plus the smooth interpolation of the ring's error.

    ``predicted``: the fill's colours on the ``ring`` pixels (flat indices of known pixels around
    the hole), valid where ``found``.
    """
    ring, predicted = ring[found], predicted[found]
    if not len(ring) or not len(pixels):
        return colours
    width = frame.shape[1]
    both = np.concatenate([pixels, ring])
    ys, xs = np.divmod(both, width)
    y0, x0 = ys.min(), xs.min()
    shape = (ys.max() - y0 + 1, xs.max() - x0 + 1)
    error = np.zeros((*shape, 3), np.float32)
    valid = np.zeros(shape, bool)
    ry, rx = ys[len(pixels):] - y0, xs[len(pixels):] - x0
    error[ry, rx] = np.clip(frame.reshape(-1, 3)[ring].astype(np.float32) - predicted, -_CLAMP, _CLAMP)
    valid[ry, rx] = True
    field = cv2.GaussianBlur(fill_smooth(error, valid), (0, 0), _SMOOTH)
    return colours + field[ys[:len(pixels)] - y0, xs[:len(pixels)] - x0]
