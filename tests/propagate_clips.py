"""Paired clips with known ground truth for the ``propagate`` engine: a textured object moving
over a textured background filmed by a panning, zooming, shaking camera.

The background is a strip of photographs from scikit-image (astronaut, coffee, rocket); the object
is an ellipse cut from another (chelsea, the cat). Frame ``t`` shows the strip through an affine
camera ``cameras[t]`` (frame pixel -> strip pixel), so the true motion between any two frames is
known exactly. Used by tests and by ``tests/propagate_eval.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class PairedClip:
    video: np.ndarray  # (T, H, W, 3) uint8 RGB, with the object
    masks: np.ndarray  # (T, H, W) bool, True on the object
    background: np.ndarray  # (T, H, W, 3) uint8 RGB, the ground truth without it
    cameras: np.ndarray  # (T, 2, 3) affine: frame pixel -> background-strip pixel

    def frame_to_frame(self, a: int, b: int) -> np.ndarray:
        """2x3 affine taking pixel coordinates of frame ``a`` to those of frame ``b``."""
        A = np.vstack([self.cameras[a], [0, 0, 1]])
        B = np.vstack([self.cameras[b], [0, 0, 1]])
        return (np.linalg.inv(B) @ A)[:2]


def _strip(height: int) -> np.ndarray:
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.rocket()]
    return np.concatenate([cv2.resize(p, (round(p.shape[1] * height / p.shape[0]), height), interpolation=cv2.INTER_AREA)
                           for p in photos], axis=1)


def _object(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    h, w = size
    cat = cv2.resize(data.chelsea()[40:260, 120:360], (w, h), interpolation=cv2.INTER_AREA)
    shape = np.zeros((h, w), np.uint8)
    cv2.ellipse(shape, (w // 2, h // 2), (w // 2 - 1, h // 2 - 1), 0, 0, 360, 1, -1)
    return cat, shape.astype(bool)


def make_paired_clip(width: int = 432, height: int = 240, frames: int = 48, seed: int = 0,
                     pan: float = 2.0, zoom: float = 0.1, shake: float = 1.0, object_scale: float = 0.3,
                     static_object: bool = False, exposure: float = 0.0) -> PairedClip:
    """A paired clip; camera motion in output pixels per frame (``pan``), total ``zoom``, ``shake``
    amplitude; ``exposure``: amplitude of a brightness flicker (gain ``1 + exposure * sin``)."""
    rng = np.random.default_rng(seed)
    strip = _strip(round(height * 1.35))
    scale0 = 1.0  # strip pixels per frame pixel at the start; zooming in shrinks it
    cameras = []
    x0 = strip.shape[1] * 0.1
    for t in range(frames):
        s = scale0 * (1 - zoom * t / max(frames - 1, 1))
        jitter = rng.normal(0, shake, 2) if shake else np.zeros(2)
        cx = x0 + width / 2 + pan * t + jitter[0]
        cy = strip.shape[0] / 2 + jitter[1]
        # frame pixel (x, y) -> strip (cx + s (x - W/2), cy + s (y - H/2))
        cameras.append(np.array([[s, 0, cx - s * width / 2], [0, s, cy - s * height / 2]]))
    cameras = np.array(cameras)
    background = np.stack([cv2.warpAffine(strip, cam, (width, height), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                                          borderMode=cv2.BORDER_REFLECT) for cam in cameras])
    if exposure:
        gains = 1 + exposure * np.sin(2 * np.pi * np.arange(frames) / 20)
        background = np.clip(background * gains[:, None, None, None] + 0.5, 0, 255).astype(np.uint8)
    oh = round(height * object_scale)
    ow = round(oh * 1.3)
    texture, shape = _object((oh, ow))
    video = background.copy()
    masks = np.zeros((frames, height, width), bool)
    phase = rng.uniform(0, 2 * np.pi)
    for t in range(frames):
        if static_object:
            x, y = (width - ow) // 2, (height - oh) // 2
        else:
            x = round(0.08 * width + (0.84 * width - ow) * t / max(frames - 1, 1))
            y = round((height - oh) / 2 + 0.15 * height * np.sin(phase + 2 * np.pi * t / frames))
        region = video[t, y:y + oh, x:x + ow]
        region[shape] = texture[shape]
        masks[t, y:y + oh, x:x + ow] = shape
    return PairedClip(video, masks, background, cameras)
