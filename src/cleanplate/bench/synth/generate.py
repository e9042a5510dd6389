"""Seeded paired clips: the same scene with and without an object and everything it causes.

>>> clip = generate_clip(seed=3, category="shadow", size=(320, 192), frames=24)   # doctest: +SKIP
>>> clip.input.shape, clip.gt.shape, clip.quadmask.dtype                           # doctest: +SKIP
((24, 192, 320, 3), (24, 192, 320, 3), dtype('uint8'))

The categories follow ROSE-Bench (Miao et al., "ROSE: Remove Objects with Side Effects in Videos",
2025): ``common`` (no side effect), ``shadow``, ``reflection`` (in water), ``light_source``,
``translucent`` and ``mirror``. A clip is described by a :class:`ClipSpec` sampled from
``(seed, category)`` alone, then rendered frame by frame (:func:`render_frames` streams, so a clip
of any length fits in memory); the same seed always gives the same arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ... import quadmask
from . import effects
from .motion import CAMERA_MOTIONS, OBJECT_MOTIONS, CameraPath, ObjectPath, phase, sample_camera, sample_object_path
from .scene import Backdrop, Camera, View, make_backdrop, occluder_mask
from .sprite import Sprite, render_sprite, sample_sprite

CATEGORIES = ("common", "shadow", "reflection", "light_source", "translucent", "mirror")
VERSION = 1  # bump when the same seed starts giving different clips


@dataclass
class ClipSpec:
    """Everything needed to render one clip; sampled by :func:`sample_spec`."""

    seed: int
    category: str
    width: int
    height: int
    frames: int
    fps: float
    horizon: float  # horizon row as a fraction of the height (before shake)
    camera: CameraPath
    path: ObjectPath
    sprite: Sprite
    backdrop: Backdrop
    effect: dict = field(default_factory=dict)
    period: int | None = None  # loop the motion every `period` frames (long clips)

    def view(self, t: int) -> View:
        return View(self.width, self.height, self.horizon, self.camera.at(phase(t, self.frames, self.period), t))

    def meta(self) -> dict:
        """What the clip is, for meta.json and reports (JSON-safe)."""
        return {
            "category": self.category, "camera": self.camera.kind, "motion": self.path.kind,
            "seed": self.seed, "frames": self.frames, "size": [self.width, self.height], "fps": self.fps,
            "shape": self.sprite.shape, "occluder": self.backdrop.occluder is not None,
            "effect": {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.effect.items()},
            "generator": f"cleanplate.bench.synth v{VERSION}",
        }


@dataclass
class SynthFrame:
    """One rendered frame: ``input``/``gt`` ``(H, W, 3) uint8``, ``object``/``side`` ``(H, W) bool``."""

    input: np.ndarray
    gt: np.ndarray
    object: np.ndarray
    side: np.ndarray

    @property
    def quadmask(self) -> np.ndarray:
        return make_quadmask(self.object, self.side)


@dataclass
class SynthClip:
    """A paired clip: ``input``/``gt`` ``(T, H, W, 3) uint8``; ``object``/``side`` ``(T, H, W) bool``."""

    input: np.ndarray
    gt: np.ndarray
    object: np.ndarray
    side: np.ndarray
    meta: dict

    @property
    def quadmask(self) -> np.ndarray:
        """``(T, H, W) uint8``: 0 object, 127 side effect, 255 keep."""
        return make_quadmask(self.object, self.side)

    def __len__(self) -> int:
        return len(self.input)


def make_quadmask(obj: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Object -> REMOVE (0), side effect -> AFFECTED (127), the rest KEEP (255)."""
    q = np.full(obj.shape, quadmask.KEEP, np.uint8)
    q[side] = quadmask.AFFECTED
    q[obj] = quadmask.REMOVE
    return q


def _rng(seed: int, category: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), CATEGORIES.index(category), VERSION]))


def sample_spec(seed: int, category: str = "shadow", size: tuple[int, int] = (320, 192), frames: int = 24,
                camera: str | None = None, motion: str | None = None, fps: float = 25.0,
                period: int | None = None) -> ClipSpec:
    """Sample a clip description from ``(seed, category)``; ``camera``/``motion`` override the draw."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; choose from {', '.join(CATEGORIES)}")
    width, height = int(size[0]), int(size[1])
    if width < 16 or height < 16 or frames < 1:
        raise ValueError(f"need size >= 16x16 and frames >= 1, got {width}x{height}, {frames}")
    rng = _rng(seed, category)
    camera = camera or CAMERA_MOTIONS[rng.integers(len(CAMERA_MOTIONS))]
    motion = motion or OBJECT_MOTIONS[rng.integers(len(OBJECT_MOTIONS))]
    if camera not in CAMERA_MOTIONS or motion not in OBJECT_MOTIONS:
        raise ValueError(f"camera must be one of {CAMERA_MOTIONS} and motion one of {OBJECT_MOTIONS}")
    focal = width * rng.uniform(0.9, 1.2)
    horizon = rng.uniform(0.28, 0.42)
    backdrop = make_backdrop(rng, width, focal, occluder=rng.random() < 0.3)
    view0 = View(width, height, horizon, Camera(0.0, focal))
    effect: dict = {}
    lift = 0.0
    x_range = (0.12, 0.88)
    size_frac = rng.uniform(0.3, 0.5)  # object height / frame height
    bottom = rng.uniform(0.62, 0.85) * height  # image row of the object's ground contact

    if category == "reflection":
        bottom = rng.uniform(0.55, 0.64) * height  # the shore line; water below it
        size_frac = min(size_frac, 0.4)
    z = focal / (bottom - view0.horizon)
    if category == "light_source":
        size_frac = rng.uniform(0.18, 0.3)
        lift = rng.uniform(0.08, 0.3) * height * z / focal
    if category == "mirror":
        z_mirror = z * rng.uniform(1.1, 1.3)
        on_right = rng.random() < 0.5
        width_frac = rng.uniform(0.3, 0.38)
        edge = rng.uniform(0.52, 0.62) if on_right else rng.uniform(0.38, 0.48)
        lo_frac, hi_frac = (edge, edge + width_frac) if on_right else (edge - width_frac, edge)
        effect.update(mirror_x=(view0.unproject_x(lo_frac * width, z_mirror), view0.unproject_x(hi_frac * width, z_mirror)),
                      mirror_z=z_mirror, mirror_height=rng.uniform(0.6, 0.85) * (view0.ground_row(z_mirror)) * z_mirror / focal,
                      mirror_axis="left" if on_right else "right", attenuation=rng.uniform(0.7, 0.9),
                      tint=tuple(rng.uniform(0.85, 1.0, 3)))
        half = 0.5 * size_frac * height * rng.uniform(0.6, 1.0) / width
        # Keep the object beside the mirror, close enough for its reflection to show.
        x_range = (max(0.06, edge - width_frac + half), edge - half) if on_right else (edge + half, min(0.94, edge + width_frac - half))
    height_world = size_frac * height * z / focal
    sprite = sample_sprite(rng, "ellipse" if category == "light_source" and rng.random() < 0.5 else None,
                           (height_world, height_world))
    margin = 0.5 * sprite.aspect * size_frac * height / width * 1.5
    path = sample_object_path(rng, motion, view0, z, x_range, margin)
    path = ObjectPath(path.kind, path.x, path.z, lift, path.angle, path.wobble)
    cam = sample_camera(rng, camera, width, focal, z)

    if category == "shadow":
        effect.update(direction=(float(rng.choice([-1, 1]) * rng.uniform(0.4, 1.4)), float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.45))),
                      softness=float(rng.uniform(0.008, 0.03) * height), opacity=float(rng.uniform(0.45, 0.75)))
    elif category == "reflection":
        effect.update(attenuation=float(rng.uniform(0.5, 0.8)), water=tuple(rng.uniform([0.05, 0.15, 0.2], [0.2, 0.35, 0.45])),
                      ripple=(float(rng.uniform(1.0, 3.0) * width / 320), float(rng.uniform(4, 9) * height / 192), float(rng.uniform(0.3, 0.8))))
    elif category == "light_source":
        hue = rng.uniform(0, 1)
        color = np.array([1.0, 0.85, 0.55]) if hue < 0.5 else np.array([0.6 + 0.4 * hue, 0.8, 1.0 - 0.3 * hue])
        effect.update(color=tuple(float(c) for c in color), gain=float(rng.uniform(0.4, 0.8)),
                      radius=float(rng.uniform(0.7, 1.3)))
    elif category == "translucent":
        effect.update(opacity=float(rng.uniform(0.3, 0.6)), refraction=float(rng.uniform(0.05, 0.2)),
                      direction=(float(rng.uniform(-1.0, 1.0)), float(rng.choice([-1, 1]) * rng.uniform(0.2, 0.5))),
                      shadow=float(rng.uniform(0.2, 0.35)), softness=float(rng.uniform(0.02, 0.05) * height))
    return ClipSpec(int(seed), category, width, height, int(frames), float(fps), float(horizon), cam, path,
                    sprite, backdrop, effect, period)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def render_frame(spec: ClipSpec, t: int) -> SynthFrame:
    """Render frame ``t`` of ``spec`` with and without the object."""
    view = spec.view(t)
    u = phase(t, spec.frames, spec.period)
    x, angle, deform = spec.path.at(u)
    z = spec.path.z
    bg, ground_weight = spec.backdrop.render(view)
    layer = render_sprite(spec.sprite, view, x, z, spec.path.lift, angle, spec.path.wobble, deform)
    cov, color = layer.coverage, layer.color
    ground_anchor = (layer.anchor[0], view.ground_row(z))
    e = spec.effect
    gt, frame = bg, bg
    alpha = cov

    if spec.category == "shadow":
        shade = effects.shadow_map(cov, ground_anchor, e["direction"], e["softness"], e["opacity"], ground_weight)
        frame = effects.darken(bg, shade)
    elif spec.category == "translucent":
        tint = np.asarray(color.reshape(-1, 3)[cov.reshape(-1) > 0].mean(0) if cov.any() else np.ones(3), np.float32)
        shade = effects.shadow_map(cov, ground_anchor, e["direction"], e["softness"], e["shadow"], ground_weight)
        frame = effects.darken(bg, shade, tint)
        seen = effects.refract(frame, cov, layer.centre, e["refraction"])
        color = (1 - e["opacity"]) * seen + e["opacity"] * color
    elif spec.category == "light_source":
        radius = e["radius"] * max(layer.size)
        frame = effects.add_light(bg, layer.centre, radius, np.asarray(e["color"], np.float32), e["gain"],
                                  ground_anchor, ground_weight)
        glow = np.asarray(e["color"], np.float32)[None, None, :]
        color = np.clip(0.75 * glow + 0.35 * color, 0, 1)  # an emissive lamp: bright, its texture faint
    elif spec.category == "reflection":
        line = view.ground_row(z)
        # The water's own colour, modulated by the ground texture so it moves with the camera.
        water = np.asarray(e["water"], np.float32)[None, None, :] * (0.6 + 0.8 * bg.mean(axis=2, keepdims=True))
        gt = effects.reflect_in_water(bg, line, t, e["attenuation"], water, e["ripple"])
        frame = effects.reflect_in_water(effects.over(bg, color, cov), line, t, e["attenuation"], water, e["ripple"])
    elif spec.category == "mirror":
        rect, axis = _mirror_rect(spec, view)
        tint = np.asarray(e["tint"], np.float32)
        gt = effects.reflect_in_mirror(bg, rect, axis, e["attenuation"], tint)
        frame = effects.reflect_in_mirror(effects.over(bg, color, cov), rect, axis, e["attenuation"], tint)

    frame = effects.over(frame, color, alpha)
    occluded = occluder_mask(spec.backdrop, view)
    if occluded.any():
        gt, frame = gt.copy(), frame.copy()
        spec.backdrop.draw_occluder(gt, view)
        spec.backdrop.draw_occluder(frame, view)
    frame8, gt8 = _to_uint8(frame), _to_uint8(gt)
    obj = (cov > 0) & ~occluded
    side = effects.side_effect_mask(frame8, gt8, obj)
    return SynthFrame(frame8, gt8, obj, side)


def _mirror_rect(spec: ClipSpec, view: View) -> tuple[tuple[float, float, float, float], float]:
    e = spec.effect
    z = e["mirror_z"]
    x0, x1 = (view.project_x(x, z) for x in e["mirror_x"])
    y1 = view.ground_row(z)
    y0 = y1 - e["mirror_height"] * view.pixels_per_unit(z)
    axis = x0 if e["mirror_axis"] == "left" else x1
    return (x0, x1, y0, y1), axis


def render_frames(spec: ClipSpec, start: int = 0, stop: int | None = None) -> Iterator[SynthFrame]:
    """Yield frames ``[start, stop)`` of ``spec`` one at a time (memory does not grow with length)."""
    for t in range(start, spec.frames if stop is None else min(stop, spec.frames)):
        yield render_frame(spec, t)


def generate_clip(seed: int, category: str = "shadow", size: tuple[int, int] = (320, 192), frames: int = 24,
                  camera: str | None = None, motion: str | None = None, fps: float = 25.0) -> SynthClip:
    """Render a whole paired clip in memory (see the module docstring)."""
    spec = sample_spec(seed, category, size, frames, camera, motion, fps)
    rendered = list(render_frames(spec))
    return SynthClip(
        input=np.stack([f.input for f in rendered]),
        gt=np.stack([f.gt for f in rendered]),
        object=np.stack([f.object for f in rendered]),
        side=np.stack([f.side for f in rendered]),
        meta=spec.meta(),
    )


def parse_size(text: str) -> tuple[int, int]:
    """``"320x192"`` -> ``(320, 192)``; :class:`InputError` naming the value otherwise."""
    from ...errors import InputError

    w, sep, h = str(text).lower().partition("x")
    try:
        size = (int(w), int(h))
    except ValueError:
        size = None
    if not sep or size is None or min(size) < 16:
        raise InputError(f"--size {text}", "must be WIDTHxHEIGHT, at least 16x16", "e.g. --size 320x192")
    return size
