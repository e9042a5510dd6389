"""The object: a textured 2D shape standing in the scene, rendered with anti-aliased coverage.

Shapes are defined in canonical coordinates ``(u, v)`` in ``[-1, 1]`` (``v`` grows downwards, ``v = 1``
is the bottom edge that touches the ground). Coverage is estimated with 2x2 supersampling, so the
object mask (coverage > 0) contains every pixel the object touches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .scene import PHOTOS, View, load_image

SHAPES = ("ellipse", "box", "person", "blob", "cone")
TEXTURE_SIZE = 64


@dataclass(frozen=True)
class Sprite:
    """What the object looks like: ``height`` in world units, ``aspect`` = width / height."""

    shape: str
    aspect: float
    height: float
    texture: np.ndarray  # float32 RGB (TEXTURE_SIZE, TEXTURE_SIZE, 3)


@dataclass
class SpriteLayer:
    """One frame's rendering of the object.

    ``coverage`` ``(H, W)`` float32 in [0, 1]; ``color`` ``(H, W, 3)`` float32 (valid where covered);
    ``anchor`` = ``(x, y)`` of the bottom centre; ``size`` = ``(width, height)`` in pixels.
    """

    coverage: np.ndarray
    color: np.ndarray
    anchor: tuple[float, float]
    centre: tuple[float, float]
    size: tuple[float, float]


def inside(shape: str, u: np.ndarray, v: np.ndarray, wobble: float, deform: float) -> np.ndarray:
    """Bool: which canonical points ``(u, v)`` lie inside ``shape`` at deformation phase ``deform``."""
    if wobble:  # squash and stretch
        s = wobble * math.sin(deform)
        u, v = u * (1 + s), v * (1 - s)
    if shape == "ellipse":
        return u * u + v * v <= 1
    if shape == "box":
        return u ** 6 + v ** 6 <= 1
    if shape == "person":
        head = (u / 0.45) ** 2 + ((v + 0.72) / 0.28) ** 2 <= 1
        body = (u / 0.95) ** 2 + ((v - 0.28) / 0.72) ** 2 <= 1
        return head | body
    if shape == "blob":
        r = np.hypot(u, v)
        theta = np.arctan2(v, u)
        edge = 0.82 + 0.12 * np.sin(3 * theta + deform) + 0.06 * np.sin(5 * theta - 2 * deform)
        return r <= edge
    if shape == "cone":
        return (v <= 1) & (np.abs(u) <= (v + 1) / 2)
    raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")


def sample_texture(rng: np.random.Generator) -> np.ndarray:
    """A small texture for the object: a photo crop, a colour-wheel crop or painted stripes."""
    kind = rng.integers(3)
    if kind < 2:
        image = load_image(PHOTOS[rng.integers(len(PHOTOS))] if kind == 0 else "colorwheel")
        side = int(min(image.shape[:2]) * rng.uniform(0.2, 0.4))
        y = rng.integers(0, image.shape[0] - side)
        x = rng.integers(0, image.shape[1] - side)
        crop = image[y:y + side, x:x + side]
        return cv2.resize(crop, (TEXTURE_SIZE, TEXTURE_SIZE), interpolation=cv2.INTER_AREA)
    a, b = rng.uniform(0.05, 0.95, 3), rng.uniform(0.05, 0.95, 3)
    period = rng.uniform(6, 16)
    yy, xx = np.mgrid[:TEXTURE_SIZE, :TEXTURE_SIZE].astype(np.float32)
    stripes = 0.5 + 0.5 * np.sin((xx * math.cos(1.0) + yy * math.sin(1.0)) * 2 * math.pi / period)
    return (a[None, None] * stripes[..., None] + b[None, None] * (1 - stripes[..., None])).astype(np.float32)


def sample_sprite(rng: np.random.Generator, shape: str | None = None, height: tuple[float, float] = (0.5, 0.9)) -> Sprite:
    shape = shape or SHAPES[rng.integers(len(SHAPES))]
    aspect = {"person": rng.uniform(0.35, 0.5), "cone": rng.uniform(0.6, 0.9)}.get(shape, rng.uniform(0.6, 1.3))
    return Sprite(shape, float(aspect), float(rng.uniform(*height)), sample_texture(rng))


_SUBSAMPLES = ((-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25))


def render_sprite(sprite: Sprite, view: View, x_world: float, z: float, lift: float = 0.0,
                  angle: float = 0.0, wobble: float = 0.0, deform: float = 0.0) -> SpriteLayer:
    """Render the object standing at ``(x_world, z)``, ``lift`` world units above the ground."""
    h_img, w_img = view.height, view.width
    ppu = view.pixels_per_unit(z)
    h_px = sprite.height * ppu
    w_px = h_px * sprite.aspect
    bottom = view.ground_row(z) - lift * ppu
    cx, cy = view.project_x(x_world, z), bottom - h_px / 2
    coverage = np.zeros((h_img, w_img), np.float32)
    color = np.zeros((h_img, w_img, 3), np.float32)
    layer = SpriteLayer(coverage, color, (cx, bottom), (cx, cy), (w_px, h_px))
    reach = 0.5 * math.hypot(w_px, h_px) * (1 + wobble) + 2
    x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 1, w_img)
    y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 1, h_img)
    if x1 <= x0 or y1 <= y0 or w_px < 1 or h_px < 1:
        return layer
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    cos, sin = math.cos(angle), math.sin(angle)

    def canonical(ox: float, oy: float):
        px, py = xs + ox - cx, ys + oy - cy
        return (cos * px + sin * py) / (w_px / 2), (-sin * px + cos * py) / (h_px / 2)

    cov = np.zeros(xs.shape, np.float32)
    for ox, oy in _SUBSAMPLES:
        u, v = canonical(ox, oy)
        cov += inside(sprite.shape, u, v, wobble, deform)
    cov /= len(_SUBSAMPLES)
    u, v = canonical(0.0, 0.0)
    s = TEXTURE_SIZE - 1
    tex = cv2.remap(sprite.texture, ((np.clip(u, -1, 1) + 1) * s / 2).astype(np.float32),
                    ((np.clip(v, -1, 1) + 1) * s / 2).astype(np.float32), cv2.INTER_LINEAR)
    shade = (0.85 - 0.15 * np.clip(u, -1, 1) - 0.1 * np.clip(v, -1, 1))[..., None]
    coverage[y0:y1, x0:x1] = cov
    color[y0:y1, x0:x1] = np.clip(tex * shade, 0, 1)
    return layer
