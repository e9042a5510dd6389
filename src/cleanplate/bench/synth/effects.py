"""What the object does to the rest of the frame: shadows, reflections, light, translucency.

Each function takes float32 RGB frames in ``[0, 1]`` and returns a new frame; none of them draws
the object itself. The side-effect mask of a clip is then simply the set of pixels outside the
object that the effect changed by more than a small threshold (:func:`side_effect_mask`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: A pixel belongs to the side effect when some channel changed by more than this (uint8 levels).
SIDE_THRESHOLD = 6


def shadow_map(coverage: np.ndarray, anchor: tuple[float, float], direction: tuple[float, float],
               softness: float, opacity: float, ground_weight: np.ndarray) -> np.ndarray:
    """The object's shadow on the ground plane as a darkening weight ``(H, W)`` in ``[0, opacity]``.

    A point of the object ``h`` pixels above its ground contact ``anchor`` lands at
    ``anchor + h * direction`` (a planar projection of the silhouette along the light, with the
    vertical component foreshortened by the ground's tilt). The result is blurred by ``softness``
    pixels (penumbra) and limited to where the ground is visible.
    """
    ax, ay = anchor
    sx, sy = direction
    # x' = x + sx (ay - y),  y' = ay + sy (ay - y)
    matrix = np.float32([[1, -sx, sx * ay], [0, -sy, ay * (1 + sy)]])
    h, w = coverage.shape
    cast = cv2.warpAffine(coverage, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    if softness > 0:
        cast = cv2.GaussianBlur(cast, (0, 0), softness)
    return np.clip(cast, 0, 1) * opacity * ground_weight


def darken(rgb: np.ndarray, shadow: np.ndarray, tint: np.ndarray | None = None) -> np.ndarray:
    """Multiply ``rgb`` by ``1 - shadow`` (or by ``1 - shadow * (1 - tint)`` for a coloured shadow).

    Multiplicative: the texture under the shadow stays visible, only dimmer.
    """
    weight = shadow[..., None]
    if tint is not None:
        weight = weight * (1 - tint[None, None, :])
    return rgb * (1 - weight)


def reflect_in_water(world: np.ndarray, line: float, t: int, attenuation: float, water: np.ndarray,
                     ripple: tuple[float, float, float]) -> np.ndarray:
    """Replace the rows below ``line`` by water mirroring the rows above it.

    The water pixel at row ``y`` shows ``world`` at row ``2 * line - y`` displaced by ripples
    (amplitude growing towards the camera, travelling with time), mixed with the water's own colour:
    ``out = attenuation * reflected + (1 - attenuation) * water``.
    """
    h, w = world.shape[:2]
    out = world.copy()
    first = int(math.floor(line)) + 1
    if first >= h:
        return out
    amp, wavelength, speed = ripple
    ys = np.arange(first, h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    depth = (ys - line) / max(h - line, 1.0)
    wave = np.sin(2 * math.pi * ys / wavelength + speed * t + 0.05 * xs)
    map_x = np.broadcast_to(xs + amp * depth * wave, (h - first, w)).astype(np.float32)
    src_y = 2 * line - ys + 0.5 * amp * depth * np.cos(2 * math.pi * ys / wavelength * 0.7 + speed * t)
    map_y = np.broadcast_to(np.minimum(src_y, line - 1), (h - first, w)).astype(np.float32)
    reflected = cv2.remap(world, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    out[first:] = attenuation * reflected + (1 - attenuation) * water[first:]
    return out


def reflect_in_mirror(world: np.ndarray, rect: tuple[float, float, float, float], axis: float,
                      attenuation: float, tint: np.ndarray, border: int = 2) -> np.ndarray:
    """Show ``world`` mirrored about the vertical line ``x = axis`` inside ``rect`` = (x0, x1, y0, y1).

    The mirror shows ``attenuation * tint * world(2 * axis - x, y)`` and has a dark frame.
    """
    h, w = world.shape[:2]
    x0, x1, y0, y1 = rect
    a, b = int(np.clip(round(x0), 0, w)), int(np.clip(round(x1), 0, w))
    c, d = int(np.clip(round(y0), 0, h)), int(np.clip(round(y1), 0, h))
    out = world.copy()
    if b <= a or d <= c:
        return out
    xs = 2 * axis - np.arange(a, b, dtype=np.float32)[None, :]
    ys = np.arange(c, d, dtype=np.float32)[:, None]
    shown = cv2.remap(world, np.broadcast_to(xs, (d - c, b - a)).astype(np.float32),
                      np.broadcast_to(ys, (d - c, b - a)).astype(np.float32),
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    out[c:d, a:b] = attenuation * tint[None, None, :] * shown
    frame = np.zeros((h, w), bool)
    frame[max(c - border, 0):min(d + border, h), max(a - border, 0):min(b + border, w)] = True
    frame[c:d, a:b] = False
    out[frame] = 0.12
    return out


def add_light(rgb: np.ndarray, centre: tuple[float, float], radius: float, color: np.ndarray,
              gain: float, ground_anchor: tuple[float, float], ground_weight: np.ndarray) -> np.ndarray:
    """Light from a lamp at ``centre``: surfaces brighten, and a halo of light is added.

    Surfaces near the lamp are lit in proportion to a Gaussian falloff ``exp(-(d / radius)^2)``
    (multiplicative, so texture stays visible) plus a pool of light on the ground under it; a
    smaller additive halo models glare. Both use the lamp's ``color``.
    """
    h, w = rgb.shape[:2]
    ys, xs = np.mgrid[:h, :w].astype(np.float32)
    d2 = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (radius * radius)
    falloff = np.exp(-d2)
    gx, gy = ground_anchor
    pool = np.exp(-((xs - gx) / (1.6 * radius)) ** 2 - ((ys - gy) / (0.45 * radius)) ** 2) * ground_weight
    lit = rgb * (1 + gain * (0.6 * falloff + pool)[..., None] * color[None, None, :])
    halo = 0.25 * gain * np.exp(-2.5 * d2)[..., None] * color[None, None, :]
    return np.clip(lit + halo, 0, 1)


def refract(rgb: np.ndarray, coverage: np.ndarray, centre: tuple[float, float], strength: float) -> np.ndarray:
    """What is seen through a glassy object: the background magnified about ``centre`` where covered."""
    ys, xs = np.nonzero(coverage > 0)
    out = rgb.copy()
    if ys.size == 0:
        return out
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    map_x = (centre[0] + (gx - centre[0]) * (1 - strength)).astype(np.float32)
    map_y = (centre[1] + (gy - centre[1]) * (1 - strength)).astype(np.float32)
    out[y0:y1, x0:x1] = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return out


def over(rgb: np.ndarray, color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Porter-Duff "over": ``color`` with ``alpha`` ``(H, W)`` on top of ``rgb``."""
    a = alpha[..., None]
    return color * a + rgb * (1 - a)


def side_effect_mask(frame: np.ndarray, clean: np.ndarray, object_mask: np.ndarray,
                     threshold: int = SIDE_THRESHOLD) -> np.ndarray:
    """Bool ``(H, W)``: pixels outside the object where ``frame`` and ``clean`` (uint8) differ by more than ``threshold``."""
    diff = np.abs(frame.astype(np.int16) - clean.astype(np.int16)).max(axis=-1)
    return (diff > threshold) & ~object_mask
