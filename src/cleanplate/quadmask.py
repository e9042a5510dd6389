"""The quadmask: cleanplate's one mask layout.

Masks at every internal boundary are ``(H, W)`` or ``(T, H, W)`` ``uint8`` arrays holding four levels,
as in VOID (Netflix, 2025):

====  =========  ===========================================================
 0    REMOVE     the object itself
 63   OVERLAP    object and side effect overlap; treated as REMOVE
 127  AFFECTED   changed by the object (shadow, reflection, light): correct it
 255  KEEP       untouched
====  =========  ===========================================================

A binary mask (``True`` = remove) becomes REMOVE/KEEP.
"""

from __future__ import annotations

import cv2
import numpy as np

REMOVE, OVERLAP, AFFECTED, KEEP = 0, 63, 127, 255
LEVELS = np.array([REMOVE, OVERLAP, AFFECTED, KEEP], dtype=np.uint8)


def from_binary(remove: np.ndarray) -> np.ndarray:
    """Bool mask (True = remove) -> quadmask with REMOVE/KEEP."""
    return np.where(remove, REMOVE, KEEP).astype(np.uint8)


def snap_levels(values: np.ndarray) -> np.ndarray:
    """Snap any uint8 values to the nearest quadmask level (robust to lossy encodes)."""
    # Midpoints between levels: 31.5, 95, 191.
    lut = np.empty(256, dtype=np.uint8)
    grey = np.arange(256)
    lut[:] = LEVELS[np.abs(grey[:, None] - LEVELS[None, :].astype(int)).argmin(axis=1)]
    return lut[values]


def object_region(q: np.ndarray) -> np.ndarray:
    """Pixels of the object itself (REMOVE or OVERLAP)."""
    return q < 95


def affected_region(q: np.ndarray) -> np.ndarray:
    """Pixels the object changed but that are not the object (AFFECTED)."""
    return (q >= 95) & (q < 191)


def hole(q: np.ndarray) -> np.ndarray:
    """Every pixel the engine must replace or correct (anything but KEEP)."""
    return q < 191


def dilate_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a bool mask ``(H, W)`` by ``radius`` pixels with a round kernel."""
    if radius <= 0:
        return mask.copy()
    size = 2 * radius + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


def dilate_quadmask(q: np.ndarray, radius: int) -> np.ndarray:
    """Grow the object and affected regions of a quadmask ``(H, W)`` by ``radius`` pixels.

    The grown object ring overrides AFFECTED/KEEP; the grown affected ring only overrides KEEP.
    """
    if radius <= 0:
        return q.copy()
    out = q.copy()
    grown_affected = dilate_mask(hole(q), radius)
    out[grown_affected & (q == KEEP)] = AFFECTED
    grown_object = dilate_mask(object_region(q), radius)
    out[grown_object & (out >= 95)] = REMOVE
    return out


def feather_alpha(region: np.ndarray, feather: int) -> np.ndarray:
    """Blend weight ``(H, W)`` float32 that is 1 deep inside ``region`` and ramps to 0 at its edge.

    The ramp lies entirely inside ``region``: the weight is exactly 0 outside it, so compositing
    with it never touches a pixel outside the region.
    """
    if feather <= 0 or not region.any():
        return region.astype(np.float32)
    inside = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(inside / float(feather), 0.0, 1.0).astype(np.float32)
