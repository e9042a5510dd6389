"""Small paired clips with known side effects, for the side-effect tests and ``scripts/eval_sideeffects.py``.

Every maker returns a :class:`SideClip`: the video with the object and what it caused, the
object mask, the clean plate (the same shot without the object and without its effects) and the
true side-effect mask. Seeded and deterministic.

- ``shadow``: a standing object crosses textured ground and casts a soft multiplicative shadow
  (shading ``1 - strength * soft_silhouette``, the same factor on R, G and B);
- ``reflection``: an object floats along a waterline and is mirrored, attenuated, in the water;
- ``light``: an object carries a lamp that brightens the ground around it multiplicatively;
- ``none``: the same moving object with no side effect at all.

``walking_block`` is plainer: a dark block and its shadow, as ``(frames, quadmasks)`` arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class SideClip:
    video: np.ndarray  # (T, H, W, 3) uint8: object and side effect
    masks: np.ndarray  # (T, H, W) bool: the object
    clean: np.ndarray  # (T, H, W, 3) uint8: neither object nor side effect
    side: np.ndarray  # (T, H, W) bool: pixels the side effect changes (outside the object)
    shading: np.ndarray  # (T, H, W) float32: multiplicative factor (1 where untouched)


def textured_ground(h: int, w: int, rng: np.random.Generator, tint=(1.0, 0.8, 0.6), contrast: float = 1.0) -> np.ndarray:
    """A colour texture ``(h, w, 3) float32`` in [0, 255] with detail at several scales.

    ``contrast`` 1 spans grey levels 60-210 (rough ground); 0.2 is a plain floor or court."""
    out = np.zeros((h, w), np.float32)
    for cell, weight in ((32, 0.45), (8, 0.3), (2, 0.25)):
        small = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
        out += weight * cv2.resize(small, (small.shape[1] * cell, small.shape[0] * cell),
                                   interpolation=cv2.INTER_CUBIC)[:h, :w]
    hue = rng.random((h // 16 + 2, w // 16 + 2, 3)).astype(np.float32)
    hue = cv2.resize(hue, (hue.shape[1] * 16, hue.shape[0] * 16), interpolation=cv2.INTER_CUBIC)[:h, :w]
    base = 135 + 150 * contrast * (np.clip(out, 0, 1)[..., None] - 0.5)
    colour = np.asarray(tint, np.float32) * (0.85 + 0.3 * hue)
    return np.clip(base * colour, 0, 255)


def _object_pixels(h: int, w: int, cx: float, base_y: float, height: float) -> np.ndarray:
    """A standing figure: an upright ellipse whose lowest point is at ``base_y``."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ry, rx = height / 2, height / 5
    cy = base_y - ry
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def _paint_object(frame: np.ndarray, obj: np.ndarray, t: int) -> None:
    yy, xx = np.nonzero(obj)
    stripes = ((yy + xx + 3 * t) // 3) % 2
    frame[yy, xx] = np.where(stripes[:, None] == 1, (40, 160, 220), (230, 60, 40))


def _track(t: int, frames: int, w: int, margin: float, speed: float) -> float:
    """x position of the object in frame ``t``: it crosses the frame once."""
    span = (w - 2 * margin) * speed
    return margin + span * t / max(frames - 1, 1)


def make_shadow_clip(frames: int = 16, h: int = 64, w: int = 96, seed: int = 0, strength: float = 0.5,
                     soften: float = 2.0, pan: int = 0, speed: float = 1.0, light: bool = False,
                     contrast: float = 1.0) -> SideClip:
    """A standing object crossing textured ground with a soft cast shadow (or, with ``light``, a glow).

    The shadow is the object's silhouette sheared onto the ground to the right, blurred by ``soften``
    pixels; the ground is multiplied by ``1 - strength * shadow`` (``1 + strength * glow`` for light).
    ``pan`` pixels a frame moves the camera; ``speed`` scales how far the object travels (0: it
    stands still); ``contrast`` is the ground texture's (see :func:`textured_ground`).
    """
    rng = np.random.default_rng(seed)
    canvas = textured_ground(h, w + pan * frames + 1, rng, contrast=contrast)
    height = 0.45 * h
    base_y = 0.62 * h
    video, clean, masks, shading = [], [], [], []
    for t in range(frames):
        x0 = t * pan
        ground = canvas[:, x0:x0 + w]
        cx = _track(t, frames, w, 0.2 * w, speed)
        obj = _object_pixels(h, w, cx, base_y, height)
        if light:
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            glow = np.exp(-((yy - base_y) ** 2 / (2 * (0.07 * h) ** 2) + (xx - cx) ** 2 / (2 * (0.1 * w) ** 2)))
            factor = 1.0 + strength * glow
        else:
            # Project the silhouette onto the ground: its top lands down and to the right of its base.
            src = np.float32([[cx, base_y], [cx, base_y - height], [cx + 1, base_y]])
            dst = np.float32([[cx, base_y], [cx + 0.7 * height, base_y + 0.3 * height], [cx + 1, base_y]])
            shadow = cv2.warpAffine(obj.astype(np.float32), cv2.getAffineTransform(src, dst), (w, h))
            if soften > 0:
                shadow = cv2.GaussianBlur(shadow, (0, 0), soften)
            factor = 1.0 - strength * shadow
        lit = np.clip(ground * factor[..., None], 0, 255)
        frame = (lit + 0.5).astype(np.uint8)
        _paint_object(frame, obj, t)
        video.append(frame)
        clean.append((ground + 0.5).astype(np.uint8))
        masks.append(obj)
        shading.append(factor.astype(np.float32))
    video, clean, masks, shading = map(np.stack, (video, clean, masks, shading))
    side = (np.abs(shading - 1) > 0.02) & ~masks  # changes the ground by more than 2%
    return SideClip(video, masks, clean, side, shading)


def make_reflection_clip(frames: int = 16, h: int = 64, w: int = 96, seed: int = 1, alpha: float = 0.5,
                         speed: float = 1.0) -> SideClip:
    """An object floating along a waterline at 45% height, mirrored in the water below it.

    The water shows ``(1 - alpha) * water + alpha * flipped_object`` inside the mirrored silhouette.
    """
    rng = np.random.default_rng(seed)
    line = int(0.45 * h)
    land = textured_ground(h, w, rng, tint=(0.7, 0.9, 0.6))
    water = textured_ground(h, w, rng, tint=(0.5, 0.7, 1.0))
    water = 0.6 * water + 0.4 * cv2.GaussianBlur(water, (0, 0), 3)
    ground = np.where((np.arange(h) < line)[:, None, None], land, water)
    video, clean, masks, shading, side = [], [], [], [], []
    height = 0.35 * h
    for t in range(frames):
        cx = _track(t, frames, w, 0.2 * w, speed)
        obj = _object_pixels(h, w, cx, line, height)
        frame = (ground + 0.5).astype(np.uint8)
        _paint_object(frame, obj, t)
        mirrored_obj = np.zeros_like(obj)
        mirrored_obj[line:2 * line] = obj[:line][::-1][:h - line]
        mirrored_frame = frame.copy()
        mirrored_frame[line:2 * line] = frame[:line][::-1][:h - line]
        blend = (1 - alpha) * ground + alpha * mirrored_frame.astype(np.float32)
        frame = np.where(mirrored_obj[..., None], (blend + 0.5).astype(np.uint8), frame)
        video.append(frame)
        clean.append((ground + 0.5).astype(np.uint8))
        masks.append(obj)
        shading.append(np.ones((h, w), np.float32))
        side.append(mirrored_obj & ~obj)
    return SideClip(*map(np.stack, (video, masks, clean, side, shading)))


def make_plain_clip(frames: int = 16, h: int = 64, w: int = 96, seed: int = 2, pan: int = 0,
                    speed: float = 1.0, contrast: float = 1.0) -> SideClip:
    """The shadow clip's object and ground with no side effect."""
    return make_shadow_clip(frames, h, w, seed, strength=0.0, pan=pan, speed=speed, contrast=contrast)


def add_noise(clip: SideClip, sigma: float, seed: int = 7) -> SideClip:
    """The same clip with Gaussian sensor noise of ``sigma`` grey levels on the video (not the plate)."""
    rng = np.random.default_rng(seed)
    noisy = clip.video.astype(np.float32) + rng.normal(0, sigma, clip.video.shape).astype(np.float32)
    video = np.where(clip.masks[..., None], clip.video, np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
    return SideClip(video, clip.masks, clip.clean, clip.side, clip.shading)


def make_clip(kind: str, noise: float = 0.0, **kwargs) -> SideClip:
    """``kind``: shadow, reflection, light or none; ``noise``: sensor noise in grey levels."""
    if kind == "shadow":
        clip = make_shadow_clip(**kwargs)
    elif kind == "light":
        clip = make_shadow_clip(light=True, **{"strength": 0.6, **kwargs})
    elif kind == "reflection":
        clip = make_reflection_clip(**kwargs)
    elif kind == "none":
        clip = make_plain_clip(**kwargs)
    else:
        raise ValueError(f"unknown kind {kind!r}: use shadow, reflection, light or none")
    return add_noise(clip, noise) if noise > 0 else clip


def walking_block(t: int, h: int = 40, w: int = 56):
    """A dark block walking right over grey ground, its shadow below it: ``(frames, quadmasks)``."""
    frames = np.full((t, h, w, 3), 160, np.uint8)
    masks = np.full((t, h, w), 255, np.uint8)
    for i in range(t):
        x = 2 + 2 * i
        masks[i, 8:24, x:x + 8] = 0
        frames[i, 8:24, x:x + 8] = 40
        frames[i, 24:30, x + 6:x + 20] = 80  # its shadow
    return frames, masks
