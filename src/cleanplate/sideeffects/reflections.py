"""Reflection cues: a mirror image of the object below the line where it meets the surface.

On water, glass or a glossy floor an object standing on (or floating at) a horizontal surface is
mirrored about its contact line: the point ``y_c - d`` above the line appears, dimmed and blended
with the surface, at ``y_c + d`` below it (planar mirror geometry, e.g. Hartley & Zisserman ch. 2 for
reflections about a line). The contact line is taken as the lowest row of each connected part of
the object mask. Two cues are read inside the mirrored silhouette:

- temporal: the surface there differs from its background (the object moved on and took its
  reflection with it);
- spatial: normalized cross-correlation between the image below the line and the object above it,
  flipped — the mirror symmetry itself, usable when the object never moves.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import SideEffectConfig
from .shadows import channel_max, ramp

MIN_PART = 16  # object parts smaller than this (pixels) cast no reflection worth finding


def mirror_parts(obj: np.ndarray, step: int = 1) -> list[tuple[int, int, int, int]]:
    """``(x0, x1, y_top, y_contact)`` of each connected part of ``obj`` big enough to mirror.

    With ``step`` > 1 the parts are found on every ``step``-th pixel: cheaper, bounds accurate to
    ``step`` pixels.
    """
    height, width = obj.shape
    small = np.ascontiguousarray(obj[::step, ::step]).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(small, connectivity=8)
    parts = []
    for i in range(1, count):
        x, y, w, h, area = stats[i]
        if area * step * step >= MIN_PART:
            parts.append((int(x * step), int(min(width, (x + w) * step)), int(y * step),
                          int(min(height - 1, (y + h) * step - 1))))
    return parts


def mirror_region(obj: np.ndarray, margin: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Where the object's reflection would be, and the image row each pixel there mirrors.

    Returns ``(region (H, W) bool, source_row (H, W) int32)``: ``source_row[y, x]`` is the row above
    the contact line that ``(y, x)`` reflects (``-1`` outside the region). The mirrored silhouette is
    grown by ``margin`` times the part's height to absorb waves and perspective.
    """
    h, w = obj.shape
    region = np.zeros((h, w), bool)
    source = np.full((h, w), -1, np.int32)
    for x0, x1, top, contact in mirror_parts(obj):
        depth = min(contact - top, h - 1 - contact)
        if depth <= 0:
            continue
        rows = np.arange(contact, contact + depth + 1)
        src = 2 * contact - rows
        part = obj[src, x0:x1]
        grow = max(1, int(round(margin * (contact - top))))
        # Only the box the grown mirror image can reach (rows from the contact line down).
        y1, c0, c1 = min(contact + depth + 1 + grow, h), max(x0 - grow, 0), min(x1 + grow, w)
        mirrored = np.zeros((y1 - contact + grow, c1 - c0), np.uint8)
        mirrored[grow:grow + depth + 1, x0 - c0:x1 - c0] = part
        mirrored = cv2.dilate(mirrored, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
        grown = mirrored[grow:].astype(bool)
        ys, xs = np.nonzero(grown)
        ys, xs = ys + contact, xs + c0
        source[ys, xs] = np.clip(2 * contact - ys, 0, h - 1)
        region[ys, xs] = True
    return region, source


def change_evidence(frame: np.ndarray, low: np.ndarray, high: np.ndarray, config: SideEffectConfig) -> np.ndarray:
    """Soft evidence ``(H, W)`` that ``frame`` lies outside the background's range ``[low, high]``
    (float32 RGB; ``low`` and ``high`` are the background itself, or its local min and max)."""
    diff = channel_max(np.maximum(low - frame, frame - high))
    return ramp(diff, config.change_weak, config.change_strong)


def symmetry_evidence(frame: np.ndarray, obj: np.ndarray, region: np.ndarray, source: np.ndarray,
                      config: SideEffectConfig) -> np.ndarray:
    """Soft evidence ``(H, W)`` of mirror symmetry, from the object's own pixels and their mirror image.

    ``frame`` is float32 RGB (already denoised). The correlation is taken over all object pixels
    whose mirror image lies in ``region`` at once, on all three channels: a reflection is one
    coherent copy, while chance likeness between a textured surface and the object is local. Where
    it reaches ``mirror_ncc`` the whole mirrored region gets evidence, ramping to 1 at
    ``mirror_ncc + 0.2``.
    """
    out = np.zeros(frame.shape[:2], np.float32)
    ys, xs = np.nonzero(region)
    if len(ys) == 0:
        return out
    rows = source[ys, xs]
    mirrored_obj = obj[rows, xs]  # region pixels that reflect a pixel of the object itself
    if mirrored_obj.sum() < MIN_PART:
        return out
    a = frame[ys, xs][mirrored_obj]
    b = frame[rows, xs][mirrored_obj]
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    if b.std() < 4.0:  # a flat object has nothing to recognise
        return out
    ncc = float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-6))
    out[ys, xs] = float(ramp(np.float32(ncc), config.mirror_ncc, config.mirror_ncc + 0.2))
    return out
