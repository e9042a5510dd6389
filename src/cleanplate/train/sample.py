"""One training sample: its layout, its checks, and the side-effect mask (UnderEraser, eqs. 1-2).

A raw sample is a dict of arrays for one clip of ``T`` frames:

=========  ====================  ==================================================
key        layout                meaning
=========  ====================  ==================================================
input      (T, H, W, 3) uint8    the video with the object (V_ori)
gt         (T, H, W, 3) uint8    the same video without it (V_gt)
mask       (T, H, W) bool        the object (M_obj); optional if ``quadmask`` given
side       (T, H, W) bool        optional: the object's side effects (shadow, ...)
quadmask   (T, H, W) uint8       optional: quadmask levels; built from mask/side if absent
=========  ====================  ==================================================

:func:`prepare_sample` turns a raw sample into a training sample: cut to the clip shape, side
mask filled in, keyframes applied. Every prepared sample has all five keys plus ``stride``.
"""

from __future__ import annotations

import cv2
import numpy as np

from .. import quadmask
from ..errors import InputError
from .keyframes import draw_stride, replace_keyframes


def difference_mask(v_ori: np.ndarray, v_gt: np.ndarray, delta: float = 0.1) -> np.ndarray:
    """Eq. 1: ``M_diff = ||V_ori - V_gt||_2 > delta``, per pixel, over RGB scaled to [0, 1].

    ``v_ori``, ``v_gt``: ``(..., 3) uint8``. Returns ``(...) bool``.
    """
    diff = v_ori.astype(np.int32) - v_gt.astype(np.int32)
    return (diff * diff).sum(axis=-1) > (delta * 255.0) ** 2


def side_effect_mask(v_ori: np.ndarray, v_gt: np.ndarray, obj: np.ndarray, delta: float = 0.1) -> np.ndarray:
    """Eq. 2: ``M_side = M_diff AND NOT M_obj``: what changed that is not the object itself."""
    return difference_mask(v_ori, v_gt, delta) & ~obj


def build_quadmask(obj: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Object -> REMOVE, side effect -> AFFECTED, the rest -> KEEP."""
    q = np.full(obj.shape, quadmask.KEEP, np.uint8)
    q[side] = quadmask.AFFECTED
    q[obj] = quadmask.REMOVE
    return q


def check_sample(sample: dict, where: str = "sample") -> dict:
    """Check a raw sample's keys, dtypes and shapes; fill ``mask`` from ``quadmask`` if absent."""
    if not isinstance(sample, dict):
        raise InputError(where, f"must be a dict of arrays, got {type(sample).__name__}",
                         "yield dicts with keys input, gt, mask (side and quadmask optional)")
    for key in ("input", "gt"):
        if key not in sample:
            raise InputError(where, f"has no '{key}'", "give input and gt videos (T, H, W, 3) uint8")
    video = np.asarray(sample["input"])
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise InputError(f"{where}['input']", f"must be (T, H, W, 3) uint8, got {video.shape} {video.dtype}")
    out = {"input": video}
    gt = np.asarray(sample["gt"])
    if gt.shape != video.shape or gt.dtype != np.uint8:
        raise InputError(f"{where}['gt']", f"must be {video.shape} uint8 like input, got {gt.shape} {gt.dtype}")
    out["gt"] = gt
    if sample.get("mask") is None and sample.get("quadmask") is None:
        raise InputError(where, "has neither 'mask' nor 'quadmask'", "give the object mask (T, H, W) bool")
    for key in ("mask", "side", "quadmask"):
        if sample.get(key) is None:
            continue
        value = np.asarray(sample[key])
        if value.shape != video.shape[:3]:
            raise InputError(f"{where}['{key}']", f"must be {video.shape[:3]} like the frames, got {value.shape}")
        out[key] = value.astype(bool) if key != "quadmask" else quadmask.snap_levels(value.astype(np.uint8))
    if "mask" not in out:
        out["mask"] = quadmask.object_region(out["quadmask"])
    return out


def _fit_frame(image: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    """Centre-crop ``image`` to the aspect of ``(height, width)``, then resize to it."""
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    if h * width > w * height:  # too tall
        ch = round(w * height / width)
        top = (h - ch) // 2
        image = image[top:top + ch]
    else:
        cw = round(h * width / height)
        left = (w - cw) // 2
        image = image[:, left:left + cw]
    return cv2.resize(image, (width, height), interpolation=interpolation)


def fit_clip(sample: dict, frames: int, height: int, width: int, rng: np.random.Generator,
             where: str = "sample") -> dict:
    """Cut a checked sample to ``frames`` frames (a random window) of ``height x width``."""
    total = len(sample["input"])
    if total < frames:
        raise InputError(where, f"has {total} frames, fewer than data.frames={frames}",
                         "give longer clips or lower data.frames")
    start = int(rng.integers(0, total - frames + 1))
    out = {}
    for key, value in sample.items():
        value = value[start:start + frames]
        if value.shape[1:3] != (height, width):
            if value.dtype == bool:
                value = np.stack([_fit_frame(v.astype(np.uint8), height, width, cv2.INTER_NEAREST) for v in value]) > 0
            else:
                smooth = cv2.INTER_AREA if key in ("input", "gt") else cv2.INTER_NEAREST
                value = np.stack([_fit_frame(v, height, width, smooth) for v in value])
        out[key] = value
    return out


def prepare_sample(raw: dict, rng: np.random.Generator, *, frames: int, height: int, width: int,
                   delta: float = 0.1, given_side: bool = True, min_stride: int = 2,
                   max_stride: int = 10, keyframe_probability: float = 1.0,
                   where: str = "sample") -> dict:
    """A raw sample -> a training sample: checked, cut, side mask (given or eqs. 1-2), keyframes."""
    sample = fit_clip(check_sample(raw, where), frames, height, width, rng, where)
    obj = sample["mask"]
    if given_side and "side" in sample:
        sample["side"] = sample["side"] & ~obj
    else:
        sample["side"] = side_effect_mask(sample["input"], sample["gt"], obj, delta)
    if "quadmask" not in sample:
        sample["quadmask"] = build_quadmask(obj, sample["side"])
    stride = draw_stride(rng, min_stride, max_stride, keyframe_probability)
    return replace_keyframes(sample, stride)
