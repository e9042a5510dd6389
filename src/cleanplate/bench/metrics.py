"""Quality metrics for object removal, over a whole clip and inside regions of it.

Conventions (all documented in ``docs/bench.md``):

- Frames are ``(T, H, W, 3) uint8 RGB``; regions are ``(T, H, W) bool``.
- **PSNR** of a region pools the squared error of every pixel and channel of the region over the
  whole clip: ``10 log10(255^2 / MSE)``. Identical regions score ``PSNR_CAP`` (100 dB) so averages
  stay finite. An empty region (no side effect in a clip) scores ``None`` ("n/a").
- **SSIM** follows Wang, Bovik, Sheikh & Simoncelli (2004), eq. 13, with an 11x11 Gaussian window
  (sigma 1.5), ``K1 = 0.01``, ``K2 = 0.03``, ``L = 255``, computed per RGB channel and averaged over
  channels into one map; a region's SSIM is the mean of the map over its pixels (all frames).
  The map is computed on the whole frame (borders reflected), then masked.
- **Ewarp**, the warping error of Lai et al. (2018, "Learning Blind Video Temporal Consistency",
  eq. 9): for each pair of frames, frame ``t`` of the output is warped to frame ``t + 1`` with optical
  flow taken from the ground truth (OpenCV DIS), pixels that fail a forward-backward consistency
  check (Sundaram, Brox & Keutzer 2010) are dropped as occluded, and the squared RGB difference to
  output frame ``t + 1`` (values in [0, 1], summed over channels) is averaged over the remaining
  pixels; the clip's Ewarp is the mean over pairs. ``ewarp_hole`` keeps only pixels inside the hole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import cv2
import numpy as np

from ..errors import InputError

PSNR_CAP = 100.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2

REGIONS = ("whole", "object", "side", "keep", "hole")


def check_same_frames(output: np.ndarray, reference: np.ndarray, what: str = "output") -> None:
    """Raise :class:`InputError` unless both are ``(T, H, W, 3)`` with the same frame count and size."""
    out, ref = np.shape(output), np.shape(reference)
    if len(out) != 4 or len(ref) != 4 or out[-1] != 3 or ref[-1] != 3:
        raise InputError(what, f"frames must be (T, H, W, 3), got {out} against {ref}")
    if out[0] != ref[0]:
        raise InputError(what, f"has {out[0]} frames but the ground truth has {ref[0]}",
                         "the engine must return one frame per input frame")
    if out[1:3] != ref[1:3]:
        raise InputError(what, f"frames are {out[2]}x{out[1]} but the ground truth is {ref[2]}x{ref[1]}",
                         "compare at the same resolution")


# -- PSNR ---------------------------------------------------------------------------------------
@dataclass
class SquaredError:
    """Running sum of squared errors and of samples, pooled over frames."""

    total: float = 0.0
    count: int = 0

    def add(self, a: np.ndarray, b: np.ndarray, region: np.ndarray | None = None) -> None:
        diff = a.astype(np.float64) - b.astype(np.float64)
        if region is not None:
            diff = diff[region]
        self.total += float(np.square(diff).sum())
        self.count += diff.size

    def psnr(self) -> float | None:
        if self.count == 0:
            return None
        return psnr_from_mse(self.total / self.count)


def psnr_from_mse(mse: float) -> float:
    """``10 log10(255^2 / mse)``, capped at ``PSNR_CAP``."""
    if mse <= 255.0 ** 2 * 10 ** (-PSNR_CAP / 10):
        return PSNR_CAP
    return 10.0 * math.log10(255.0 ** 2 / mse)


def psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray | None = None) -> float | None:
    """PSNR (dB) between uint8 images or clips, over ``region`` (bool, without the channel axis)."""
    acc = SquaredError()
    acc.add(a, b, region)
    return acc.psnr()


# -- SSIM ---------------------------------------------------------------------------------------
def _blur(x: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(x, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM map ``(H, W)`` float64 of two ``(H, W, 3)`` (or ``(H, W)``) uint8 images (Wang et al. 2004, eq. 13)."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    mx, my = _blur(x), _blur(y)
    sxx = _blur(x * x) - mx * mx
    syy = _blur(y * y) - my * my
    sxy = _blur(x * y) - mx * my
    num = (2 * mx * my + _C1) * (2 * sxy + _C2)
    den = (mx * mx + my * my + _C1) * (sxx + syy + _C2)
    s = num / den
    return s.mean(axis=-1) if s.ndim == 3 else s


def ssim(a: np.ndarray, b: np.ndarray, region: np.ndarray | None = None) -> float | None:
    """Mean SSIM over ``region`` of one image pair ``(H, W, 3)`` or clip ``(T, H, W, 3)``."""
    if a.ndim == 3:
        a, b = a[None], b[None]
        region = None if region is None else region[None]
    total, count = 0.0, 0
    for t in range(len(a)):
        m = ssim_map(a[t], b[t])
        sel = m if region is None else m[region[t]]
        total += float(sel.sum())
        count += sel.size
    return total / count if count else None


# -- warping error ------------------------------------------------------------------------------
def _flow(dis, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return dis.calc(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)


def _sample(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Bool ``(H, W)``: where ``backward`` (t+1 -> t) is confirmed by ``forward`` (t -> t+1).

    Sundaram et al. (2010): ``|b + f(x + b)|^2 < 0.01 (|b|^2 + |f(x + b)|^2) + 0.5``; pixels whose
    flow leaves the frame are inconsistent too.
    """
    h, w = backward.shape[:2]
    f_at = _sample(forward, backward)
    err = np.square(backward + f_at).sum(-1)
    bound = 0.01 * (np.square(backward).sum(-1) + np.square(f_at).sum(-1)) + 0.5
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    tx, ty = gx + backward[..., 0], gy + backward[..., 1]
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    return (err < bound) & inside


def reference_flows(frames: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each pair ``(t, t + 1)``: ``(flow t+1 -> t, valid)`` from DIS optical flow on ``frames``.

    ``flow[y, x]`` points from pixel ``(x, y)`` of frame ``t + 1`` to where it was in frame ``t``;
    ``valid`` marks pixels that pass the forward-backward check.
    """
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    out = []
    for a, b in zip(frames[:-1], frames[1:]):
        back = _flow(dis, b, a)
        fwd = _flow(dis, a, b)
        out.append((back, consistent(back, fwd)))
    return out


def warp_error(frames: Sequence[np.ndarray], flows: Iterable[tuple[np.ndarray, np.ndarray]],
               region: np.ndarray | None = None) -> float | None:
    """Ewarp of ``frames`` (uint8) along ``flows`` (from :func:`reference_flows`), optionally in ``region``.

    ``region[t + 1]`` selects pixels of frame ``t + 1``. Pairs with no valid pixel are skipped;
    ``None`` when no pair has one.
    """
    errors = []
    for t, (flow, valid) in enumerate(flows):
        mask = valid if region is None else valid & region[t + 1]
        n = int(mask.sum())
        if n == 0:
            continue
        warped = _sample(frames[t].astype(np.float32) / 255.0, flow)
        diff = np.square(warped - frames[t + 1].astype(np.float32) / 255.0).sum(-1)
        errors.append(float(diff[mask].sum()) / n)
    return float(np.mean(errors)) if errors else None


# -- all of it for one clip ---------------------------------------------------------------------
def regions(object_mask: np.ndarray, side_mask: np.ndarray) -> dict[str, np.ndarray | None]:
    """The named regions of a clip: ``whole`` is None (no mask), the others ``(T, H, W) bool``."""
    hole = object_mask | side_mask
    return {"whole": None, "object": object_mask, "side": side_mask & ~object_mask, "keep": ~hole, "hole": hole}


def evaluate_clip(output: np.ndarray, gt: np.ndarray, object_mask: np.ndarray, side_mask: np.ndarray,
                  flows: list | None = None, lpips=None) -> dict[str, float | None]:
    """Every metric of one clip: ``psnr``, ``psnr_<region>``, ``ssim``, ``ssim_<region>``, ``ewarp``,
    ``ewarp_hole`` and ``lpips`` (``None`` without an :class:`~cleanplate.bench.lpips.LPIPS` model).

    ``flows`` may be given (:func:`reference_flows` of ``gt``) to share them between engines.
    """
    check_same_frames(output, gt)
    if object_mask.shape != gt.shape[:3] or side_mask.shape != gt.shape[:3]:
        raise InputError("masks", f"must be {gt.shape[:3]}, got {object_mask.shape} and {side_mask.shape}")
    named = regions(object_mask, side_mask)
    errors = {name: SquaredError() for name in named}
    ssim_sums = {name: [0.0, 0] for name in named}
    for t in range(len(gt)):
        smap = ssim_map(output[t], gt[t])
        for name, region in named.items():
            sel = None if region is None else region[t]
            errors[name].add(output[t], gt[t], sel)
            values = smap if sel is None else smap[sel]
            ssim_sums[name][0] += float(values.sum())
            ssim_sums[name][1] += values.size
    scores: dict[str, float | None] = {}
    for name in named:
        key = "" if name == "whole" else f"_{name}"
        scores[f"psnr{key}"] = errors[name].psnr()
        total, count = ssim_sums[name]
        scores[f"ssim{key}"] = total / count if count else None
    if flows is None:
        flows = reference_flows(gt)
    scores["ewarp"] = warp_error(output, flows)
    scores["ewarp_hole"] = warp_error(output, flows, object_mask | side_mask)
    scores["lpips"] = lpips.clip(output, gt) if lpips is not None else None
    return scores


METRIC_KEYS = ("psnr", "psnr_object", "psnr_side", "psnr_keep", "psnr_hole", "ssim", "ssim_object", "ssim_side",
               "ssim_keep", "ssim_hole", "ewarp", "ewarp_hole", "lpips")


def evaluate_unpaired(output: np.ndarray, frames: np.ndarray, object_mask: np.ndarray) -> dict[str, float | None]:
    """Metrics without ground truth (DAVIS-style data): only what can be checked without it.

    ``psnr_keep``/``ssim_keep`` compare the output with the input outside the object (how much an
    engine disturbs what it should keep); ``ewarp``/``ewarp_hole`` use flow computed on the output
    itself (no ground truth to take it from), so they measure self-consistency. The rest is None.
    """
    check_same_frames(output, frames, "output")
    scores: dict[str, float | None] = {k: None for k in METRIC_KEYS}
    keep = ~object_mask
    scores["psnr_keep"] = psnr(output, frames, keep)
    scores["ssim_keep"] = ssim(output, frames, keep)
    flows = reference_flows(output)
    scores["ewarp"] = warp_error(output, flows)
    scores["ewarp_hole"] = warp_error(output, flows, object_mask)
    return scores
