"""The light of a moving lamp: a coloured brightening, found against the dimmest view of each point.

A lamp (the object is the light source) multiplies the surface by a per-channel gain
``1 + a(x) c`` with one lamp colour ``c`` (Phong/Lambert shading with a coloured light; the
intrinsic-image model ``I = S * R`` with a coloured ``S``). Two things follow:

- the lamp lights each point near its path for most of a window, so the temporal *median* is lit
  too and the plain light cue (:mod:`.shadows`) sees nothing. Light only ever adds, so the point's
  *dimmest* samples — a low order statistic of the aligned samples, as in the minimum-based
  background of Haritaoglu et al., W4, 2000 — show it as unlit as the window ever does;
- the log-ratio vector ``v = log(frame / background)`` is positive in every channel and points in
  nearly the same direction ``log(1 + a c) / |...|`` at every lit pixel, whatever the surface; its
  chromaticity changes (a warm lamp), so :func:`.shadows.chroma_kept` refuses it.

The evidence is a luminance gain against the dimmest background (compared with its brightest
3x3 neighbour, so that alignment errors at texture edges cannot pass) where ``v`` agrees with the
frame's dominant light direction, estimated from the strongest brightening near the object. It
counts only in frames where that brightening *surrounds* the object — a lamp lights all around
itself, while the ground a shadow has just left (dimmer in the frames it was shadowed in) lies on
one side of it.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import SideEffectConfig
from .select import distance_to
from .shadows import EPS, luminance, ramp

FAR_SHARE = 0.2  # the unlit background is the median of this share of a point's samples: the farthest from the lamp
DIRECTION_TOL = (0.06, 0.12)  # 1 - cosine to the lamp direction: full evidence up to the first, none past the second
MIN_LIT = 12  # working pixels of strong brightening needed to estimate the lamp's direction
RING = (0.1, 0.35)  # the ring around the object, in object heights, where a lamp must light ...
SURROUND = 0.5  # ... this share of the pixels (a shadow's old place lies on one side only)
ENVELOPE = np.ones((3, 3), np.uint8)


def far_background(stack: np.ndarray, excluded: np.ndarray, distance: np.ndarray, count: int) -> np.ndarray:
    """Per pixel, the median of the ``count`` samples of ``stack`` ``(N, H, W, 3) uint8`` taken when
    the object was farthest from it (``distance`` ``(N, H, W)``, to the object in each sample), leaving
    out the ``excluded`` ones: ``(H, W, 3)`` float32, the surface as the lamp's light leaves it.

    Light falls off with distance, so these are the point's dimmest views of the lamp's light; their
    median, not their minimum, so a dark thing passing over the point (another mover, a layer the
    camera motion does not align) does not pass for the unlit surface. With fewer than ``count``
    samples left, excluded ones fill the set (the pixel is not ``known`` then anyway).
    """
    n = stack.shape[0]
    count = max(1, min(count, n))
    far = np.where(excluded, -1.0, distance).astype(np.float32)
    order = np.argpartition(-far, count - 1, axis=0)[:count] if count < n else np.broadcast_to(
        np.arange(n)[:, None, None], far.shape)
    picked = np.take_along_axis(stack, order[..., None], axis=0)
    return np.median(picked, axis=0).astype(np.float32)


def log_ratio(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``log((frame + e) / (background + e))`` per channel, ``(H, W, 3)`` float32."""
    return np.log((frame + EPS) / (background + EPS)).astype(np.float32)


def light_direction(ratio: np.ndarray, where: np.ndarray, config: SideEffectConfig) -> np.ndarray | None:
    """Unit vector ``(3,)`` of the lamp's log-gain, from the pixels of ``where`` that brighten by
    at least ``bright_strong`` in every channel (None: too few of them). The per-channel median of
    the normalized vectors, so a few odd pixels (a misaligned edge) cannot turn it."""
    strong = where & (ratio.min(axis=-1) > 0) & (ratio.mean(axis=-1) > np.log1p(config.bright_strong))
    if strong.sum() < MIN_LIT:
        return None
    v = ratio[strong]
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    d = np.median(v, axis=0)
    return (d / np.linalg.norm(d)).astype(np.float32)


def tinted_light_evidence(ratio: np.ndarray, direction: np.ndarray, config: SideEffectConfig) -> np.ndarray:
    """Soft evidence ``(H, W)`` in [0, 1] of the lamp's light: a luminance gain (``bright_weak`` to
    ``bright_strong``) whose log-ratio vector points along ``direction`` (within ``DIRECTION_TOL``)."""
    gain = np.expm1(ratio.mean(axis=-1))
    norm = np.maximum(np.linalg.norm(ratio, axis=-1), 1e-6)
    cosine = (ratio @ direction) / norm
    return ramp(gain, config.bright_weak, config.bright_strong) * ramp(-(1.0 - cosine), -DIRECTION_TOL[1], -DIRECTION_TOL[0])


def surrounds(evidence: np.ndarray, obj: np.ndarray, known: np.ndarray, height: int) -> bool:
    """Whether ``evidence > 0`` covers ``SURROUND`` of the known pixels in the ring ``RING`` object
    heights around ``obj``."""
    if not height:
        return False
    outside = (~obj).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    ring = (distance > RING[0] * height) & (distance <= RING[1] * height) & known
    return bool(ring.sum() >= MIN_LIT and (evidence[ring] > 0).mean() >= SURROUND)


def lamp_evidence(frame: np.ndarray, dim: np.ndarray, obj: np.ndarray, zone: np.ndarray, known: np.ndarray,
                  height: int, config: SideEffectConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """Evidence ``(H, W)`` float32 of a moving lamp's light in one frame (float32 RGB, denoised)
    against the dimmest background ``dim``, inside ``zone & known``; zero unless the light surrounds
    ``obj``. Returns ``(evidence, background)``: the background is ``dim`` (None when nothing)."""
    where = zone & known
    ratio = log_ratio(frame, cv2.dilate(dim, ENVELOPE))
    direction = light_direction(ratio, where, config)
    if direction is None:
        return np.zeros(obj.shape, np.float32), None
    evidence = tinted_light_evidence(ratio, direction, config) * where
    if not surrounds(evidence, obj, known, height):
        return np.zeros(obj.shape, np.float32), None
    return evidence, dim


def window_far_background(win, wanted: list[np.ndarray]) -> np.ndarray:
    """:func:`far_background` ``(canvas, float32 RGB)`` of an :class:`.window.AlignedWindow`, around the
    ``wanted`` masks (per frame) only, leaving out the object as its median does."""
    w, h = win.canvas
    out = np.zeros((h, w, 3), np.float32)
    where = np.logical_or.reduce([win.to_ref(m, i) for i, m in enumerate(wanted)])
    if not where.any():
        return out
    ys, xs = np.nonzero(where.any(axis=1))[0], np.nonzero(where.any(axis=0))[0]
    y0, y1, x0, x1 = max(ys[0] - 4, 0), min(ys[-1] + 5, h), max(xs[0] - 4, 0), min(xs[-1] + 5, w)
    excluded, distance = [], []
    for k, i in enumerate(win.sampled):
        obj = win.to_ref(win.frames[i].obj, i)
        excluded.append((win.to_ref(win.blocked[i], i) | win.outside[k])[y0:y1, x0:x1])
        distance.append(distance_to(obj)[y0:y1, x0:x1])
    count = max(win.min_samples, int(round(FAR_SHARE * len(win.sampled))))
    out[y0:y1, x0:x1] = far_background(win.stack[:, y0:y1, x0:x1], np.stack(excluded), np.stack(distance), count)
    return out
