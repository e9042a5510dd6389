"""The light of a moving lamp: a coloured brightening, found against the views farthest from it.

A lamp (the object is the light source) multiplies the surface by a per-channel gain
``1 + a(x) c`` with one lamp colour ``c`` (Phong/Lambert shading with a coloured light; the
intrinsic-image model ``I = S * R`` with a coloured ``S``). Two things follow:

- the lamp lights each point near its path for most of a window, so the temporal *median* is lit
  too and the plain light cue (:mod:`.shadows`) sees nothing. Light falls off with distance, so a
  point is least lit in the views where the lamp was farthest from it: the *far view*
  (:func:`far_background`) is, per point, the median of the ``FAR_SHARE`` of its aligned samples
  taken when the object was farthest (the median of those, not their minimum, so that a dark thing
  passing over the point does not pass for the unlit surface);
- the log-ratio vector ``v = log(frame / far view)`` is positive in every channel and points in
  nearly the same direction ``log(1 + a c) / |...|`` at every lit pixel, whatever the surface; its
  chromaticity changes (a warm lamp), so :func:`.shadows.chroma_kept` refuses it.

The evidence is a luminance gain against the far view (compared with its brightest 3x3 neighbour,
so that alignment errors at texture edges cannot pass) where ``v`` agrees with the frame's dominant
light direction, estimated from the strongest brightening near the object. It counts only in
frames where that brightening *surrounds* the object — a lamp lights all around itself, while the
ground a shadow has just left lies on one side of it.

Cost: where no lamp is, little is spent. A window is first looked at on a coarse grid
(:func:`lamp_possible`); only when some sampled frame brightens much of the ring around the object
is the far view computed in full, and each frame then tests the ring alone before the rest.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import SideEffectConfig
from .select import distance_to
from .shadows import EPS, ramp
from .window import box_of

FAR_SHARE = 0.2  # the unlit background is the median of this share of a point's samples: the farthest from the lamp
DIRECTION_TOL = (0.06, 0.12)  # 1 - cosine to the lamp direction: full evidence up to the first, none past the second
MIN_LIT = 12  # working pixels of strong brightening needed to estimate the lamp's direction
RING = (0.1, 0.35)  # the ring around the object, in object heights, where a lamp must light ...
SURROUND = 0.5  # ... this share of the pixels (a shadow's old place lies on one side only)
COARSE, COARSE_HEIGHT, COARSE_SURROUND = 4, 12, 0.4  # the window's first look (see :func:`lamp_possible`)
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
    norm = np.maximum(np.linalg.norm(ratio, axis=-1), 1e-6)
    cosine = (ratio @ direction) / norm
    return gain_evidence(ratio, config) * ramp(-(1.0 - cosine), -DIRECTION_TOL[1], -DIRECTION_TOL[0])


def lamp_ring(obj: np.ndarray, known: np.ndarray, height: int) -> np.ndarray | None:
    """The known pixels ``RING`` object heights around ``obj`` (None: no object, or under ``MIN_LIT`` of them)."""
    if not height:
        return None
    outside = (~obj).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    ring = (distance > RING[0] * height) & (distance <= RING[1] * height) & known
    return ring if ring.sum() >= MIN_LIT else None


def surrounds(evidence: np.ndarray, ring: np.ndarray | None) -> bool:
    """Whether ``evidence > 0`` covers ``SURROUND`` of the ``ring`` around the object (:func:`lamp_ring`;
    None: no ring, False)."""
    return ring is not None and bool((evidence[ring] > 0).mean() >= SURROUND)


def gain_evidence(ratio: np.ndarray, config: SideEffectConfig) -> np.ndarray:
    """The luminance-gain part of :func:`tinted_light_evidence`: 0 below ``bright_weak``, 1 above ``bright_strong``."""
    return ramp(np.expm1(ratio.mean(axis=-1)), config.bright_weak, config.bright_strong)


def lamp_evidence(frame: np.ndarray, dim: np.ndarray, obj: np.ndarray, zone: np.ndarray, known: np.ndarray,
                  height: int, config: SideEffectConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """Evidence ``(H, W)`` float32 of a moving lamp's light in one frame (float32 RGB, denoised)
    against the far-view background ``dim``, inside ``zone & known``; zero unless the light surrounds
    ``obj``. Returns ``(evidence, background)``: the background is ``dim`` (None when nothing).

    The ring is tested first, on its own pixels and on the gain alone (the evidence asks that and
    more): a frame with no lamp, where that fails, costs little more than the ring.
    """
    none = np.zeros(obj.shape, np.float32), None
    ring = lamp_ring(obj, known, height)
    if ring is None:
        return none
    bright = cv2.dilate(dim, ENVELOPE)
    lit = ring & zone
    if (gain_evidence(log_ratio(frame[lit], bright[lit]), config) > 0).sum() < SURROUND * ring.sum():
        return none
    where = zone & known
    ratio = log_ratio(frame, bright)
    direction = light_direction(ratio, where, config)
    if direction is None:
        return none
    evidence = tinted_light_evidence(ratio, direction, config) * where
    if not surrounds(evidence, ring):
        return none
    return evidence, dim


def _samples(win, crop: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sampled frame of the window, in ``crop`` of the canvas: the object, what the median leaves
    out, and the distance to the object; each ``(N, h, w)``."""
    objs, distance = [], []
    for i in win.sampled:
        obj = win.obj_on_canvas(i)
        objs.append(obj[crop])
        distance.append(distance_to(obj)[crop])
    excluded = win.excluded_stack((crop[0].start, crop[0].stop, crop[1].start, crop[1].stop))
    return np.stack(objs), excluded, np.stack(distance)


def lamp_possible(win, crop: tuple[slice, slice], samples: tuple[np.ndarray, np.ndarray, np.ndarray],
                  count: int, config: SideEffectConfig) -> bool:
    """Whether any sampled frame of the window brightens (over ``bright_weak``, against the far
    view) ``COARSE_SURROUND`` of the ring around the object: a cheap look, on every ``COARSE``-th
    pixel (fewer for a small object: its ring must keep ``COARSE_HEIGHT`` pixels of height), before
    the far view is computed in full. Where no lamp is, nothing comes near; a lamp's frames
    brighten at least ``SURROUND`` of it."""
    heights = [win.heights[i] for i in win.sampled if win.heights[i]]
    step = int(np.clip(min(heights, default=0) // COARSE_HEIGHT, 1, COARSE))
    objs, excluded, distance = (a[:, ::step, ::step] for a in samples)
    stack = win.stack[(slice(None),) + crop][:, ::step, ::step]
    far = far_background(stack, excluded, distance, count)
    for k, i in enumerate(win.sampled):
        ring = lamp_ring(objs[k], ~excluded[k], -(-win.heights[i] // step))
        if ring is None:
            continue
        gain = gain_evidence(log_ratio(stack[k][ring].astype(np.float32), far[ring]), config)
        if (gain > 0).mean() >= COARSE_SURROUND:
            return True
    return False


def window_far_background(win, wanted: list[np.ndarray], config: SideEffectConfig) -> np.ndarray | None:
    """:func:`far_background` ``(canvas, float32 RGB)`` of an :class:`.window.AlignedWindow`, around the
    ``wanted`` masks (per frame) only, leaving out the object as its median does; None where
    :func:`lamp_possible` says no frame of the window can show a lamp's light."""
    w, h = win.canvas
    where = win.union_on_canvas(wanted)
    if not where.any():
        return None
    y0, y1, x0, x1 = box_of(where, pad=4)
    crop = np.s_[y0:y1, x0:x1]
    samples = _samples(win, crop)
    count = max(win.min_samples, int(round(FAR_SHARE * len(win.sampled))))
    if not lamp_possible(win, crop, samples, count, config):
        return None
    out = np.zeros((h, w, 3), np.float32)
    out[crop] = far_background(win.stack[(slice(None),) + crop], samples[1], samples[2], count)
    return out
