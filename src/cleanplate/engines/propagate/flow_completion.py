"""Complete the flow inside the hole from the motion of the background around it.

Inside the hole the flow follows the object, not the background behind it. Following the
flow-completion step of flow-guided video inpainting (Gao et al., "Flow-edge Guided Video
Completion", ECCV 2020; Zhou et al., "ProPainter", ICCV 2023) but without a learned network, the
background motion is modelled as

    f(p) = H(p) - p + r(p)

where ``H`` is a homography fitted with RANSAC to the flow outside the hole (the camera's motion
for a distant or planar background) and ``r`` the residual (parallax, local motion), known outside
the hole and carried into it by push-pull interpolation (Gortler et al., "The Lumigraph",
SIGGRAPH 1996, sec. 3.4): a pyramid of weighted averages, filled coarse to fine.
"""

from __future__ import annotations

import cv2
import numpy as np

from .flow import invert_flow

_STRIDE = 8  # grid step (working px) of the points the homography is fitted to
_MIN_POINTS = 16
_RANSAC_PX = 1.0  # inlier threshold of the homography fit, working px
_RESIDUAL_BAND = 16  # working px around the hole whose flow is not trusted for the residual
_RESIDUAL_NOISE = 0.5  # working px: residuals well below this are DIS's error and are damped


def fit_homography(flow: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """3x3 homography ``H`` with ``p + flow(p) ~ H(p)`` over ``valid`` pixels (RANSAC).

    Falls back to the median translation when too few valid points exist, and to the identity
    when none do.
    """
    h, w = valid.shape
    ys, xs = np.mgrid[_STRIDE // 2:h:_STRIDE, _STRIDE // 2:w:_STRIDE]
    keep = valid[ys, xs]
    if keep.sum() < _MIN_POINTS:
        H = np.eye(3)
        if valid.any():
            H[:2, 2] = np.median(flow[valid], axis=0)
        return H
    src = np.stack([xs[keep], ys[keep]], axis=-1).astype(np.float32)
    dst = src + flow[ys[keep], xs[keep]]
    H, _ = cv2.findHomography(src, dst, cv2.RANSAC, _RANSAC_PX, maxIters=500, confidence=0.99)
    if H is None or not np.isfinite(H).all():
        H = np.eye(3)
        H[:2, 2] = np.median(dst - src, axis=0)
    return H


def homography_flow(H: np.ndarray, shape: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """``(h, w, 2) float32`` flow ``H(p) - p`` over a ``shape`` grid whose top-left pixel is ``origin`` (y, x)."""
    h, w = shape
    # Homogeneous coordinates relative to the origin keep float32 exact enough on any frame size.
    shift = np.array([[1, 0, origin[1]], [0, 1, origin[0]], [0, 0, 1]])
    M = (np.linalg.inv(shift) @ H @ shift).astype(np.float32)
    x = np.arange(w, dtype=np.float32)[None, :]
    y = np.arange(h, dtype=np.float32)[:, None]
    z = M[2, 0] * x + M[2, 1] * y + M[2, 2]
    z = np.where(np.abs(z) < 1e-6, np.float32(1e-6), z)
    out = np.empty((h, w, 2), np.float32)
    out[..., 0] = (M[0, 0] * x + M[0, 1] * y + M[0, 2]) / z - x
    out[..., 1] = (M[1, 0] * x + M[1, 1] * y + M[1, 2]) / z - y
    return out


def fill_smooth(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Push-pull interpolation: ``values`` ``(h, w, c)`` kept where ``valid``, smoothly filled elsewhere."""
    weight = valid.astype(np.float32)
    level = values * weight[..., None]
    pyramid = [(level, weight)]
    while min(level.shape[:2]) > 2:
        level, weight = cv2.pyrDown(level), cv2.pyrDown(weight)
        if level.ndim == 2:  # cv2 drops a channel axis of length 1
            level = level[..., None]
        pyramid.append((level, weight))
    level, weight = pyramid[-1]
    estimate = np.where(weight[..., None] > 1e-6, level / np.maximum(weight, 1e-6)[..., None], 0).astype(np.float32)
    if (weight <= 1e-6).all():
        estimate[:] = 0
    for level, weight in reversed(pyramid[:-1]):
        up = cv2.pyrUp(estimate, dstsize=(level.shape[1], level.shape[0]))
        if up.ndim == 2:
            up = up[..., None]
        estimate = level + (1.0 - weight)[..., None] * up
    return estimate


def _bbox(region: np.ndarray, pad: int) -> tuple[slice, slice]:
    ys = np.flatnonzero(region.any(axis=1))
    xs = np.flatnonzero(region.any(axis=0))
    h, w = region.shape
    return (slice(max(0, ys[0] - pad), min(h, ys[-1] + 1 + pad)),
            slice(max(0, xs[0] - pad), min(w, xs[-1] + 1 + pad)))


def trusted_flow(region: np.ndarray) -> np.ndarray:
    """Bool: pixels farther than ``_RESIDUAL_BAND`` from ``region``, whose flow is the background's.

    The band narrows where it would leave fewer than a quarter of the pixels outside the region
    (a hole that fills most of a small frame).
    """
    outside = ~region
    if not region.any() or not outside.any():
        return outside
    distance = cv2.distanceTransform(outside.astype(np.uint8), cv2.DIST_L2, 3)
    trusted = distance >= _RESIDUAL_BAND
    if 4 * np.count_nonzero(trusted) < np.count_nonzero(outside):
        trusted = distance >= max(1.0, float(np.percentile(distance[outside], 75)))
    return trusted


def complete_flow(flow: np.ndarray, region: np.ndarray, H: np.ndarray, trusted: np.ndarray) -> np.ndarray:
    """Replace ``flow`` inside ``region`` by the homography's flow plus the interpolated residual.

    The residual is read only where ``trusted`` (:func:`trusted_flow`), beyond a band of
    ``_RESIDUAL_BAND`` pixels around the region: DIS estimates flow coarse to fine, so the object's
    motion leaks that far into the background's flow (measured on paired clips: interpolating from
    the region's edge made the completed flow ~5x less accurate than the homography alone). A residual of length ``r`` is scaled by
    ``r^2 / (r^2 + n^2)`` with ``n = _RESIDUAL_NOISE``: parallax of a pixel or more passes, the
    low-frequency bias of DIS (a few tenths of a pixel, which the frame-wide homography averages
    out) does not.
    """
    if not region.any():
        return flow
    ys, xs = _bbox(region, pad=_RESIDUAL_BAND + 24)
    sub_region = region[ys, xs]
    model = homography_flow(H, sub_region.shape, (ys.start, xs.start))
    residual = fill_smooth(flow[ys, xs] - model, trusted[ys, xs])
    # Soft-threshold it: what stays below the flow's own error is DIS's bias, not parallax.
    energy = (residual * residual).sum(axis=-1, keepdims=True)
    residual *= energy / (energy + _RESIDUAL_NOISE ** 2)
    out = flow.copy()
    out[ys, xs] = np.where(sub_region[..., None], model + residual, flow[ys, xs])
    return out


def complete_pair(forward: np.ndarray, region: np.ndarray, backward: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complete the flows of a frame pair inside ``region`` (the union of both frames' holes).

    Returns ``(forward, backward, H)`` with ``H`` the forward homography (working coordinates).
    Without a measured ``backward`` flow, it is the inverse of the completed forward flow;
    with one, it is completed with ``H``'s inverse so the two stay consistent in the hole.
    """
    trusted = trusted_flow(region)
    H = fit_homography(forward, trusted)
    forward = complete_flow(forward, region, H, trusted)
    if backward is None:
        crop = _bbox(region, pad=_RESIDUAL_BAND + 24) if region.any() else None
        return forward, invert_flow(forward, crop), H
    return forward, complete_flow(backward, region, np.linalg.inv(H), trusted), H
