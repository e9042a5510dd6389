"""Complete the flow inside the hole from the motion of the background around it.

Inside the hole the flow follows the object, not the background behind it. Following the
flow-completion step of flow-guided video inpainting (Gao et al., "Flow-edge Guided Video
Completion", ECCV 2020; Zhou et al., "ProPainter", ICCV 2023) but without a learned network, the
background motion at a hole pixel ``p`` is modelled as

    f(p) = H_k(p) - p + r_k(p)

where ``H_k`` is the motion of the planar layer ``k`` that ``p`` is taken to lie on
(:mod:`.flow_layers`: a homography fitted with RANSAC to the flow outside the hole, the camera's
motion for a distant or planar background, and up to two more layers at other depths) and
``r_k`` that layer's residual (parallax it does not model), known outside the hole and carried
into it by moving-least-squares affine fits (:func:`local_affine_fill`). An affine residual is
exact for a plane seen by a trucking or zooming camera, where the push-pull interpolation
(Gortler et al., "The Lumigraph", SIGGRAPH 1996, sec. 3.4; :func:`fill_smooth`) used before
flattens it towards its mean.
"""

from __future__ import annotations

import cv2
import numpy as np

from .flow import invert_flow
from .flow_layers import choose_layers, fit_layers

_STRIDE = 8  # grid step (working px) of the points the homography is fitted to
_MIN_POINTS = 16
_RANSAC_PX = 1.0  # inlier threshold of the homography fit, working px
_RESIDUAL_BAND = 16  # working px around the hole whose flow is not trusted for the residual
_RESIDUAL_NOISE = 0.5  # working px: residuals well below this are DIS's error and are damped
_MAX_LAYERS = 3  # homographies fitted to the background's flow (planes at different depths)
_NODE = 8  # grid step (working px) of the nodes where the local affine residual is solved
_RING = 16  # working px: width of the ring of trusted flow the local fits read, beyond the band
_RIDGE = 0.1  # pulls each local fit towards a constant, in units of its nearest point's weight
_ROBUST_ITERATIONS = 1  # Cauchy reweighting passes of the local fits
_PRIOR_PX = 1.0  # working px: residuals from the homography beyond this start down-weighted
_ROBUST_PX = 0.5  # working px: scale of the Cauchy weights


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


def complete_flow(flow: np.ndarray, region: np.ndarray, H: np.ndarray, trusted: np.ndarray,
                  layers: list[np.ndarray] | None = None) -> np.ndarray:
    """Replace ``flow`` inside ``region`` by a layer's homography flow plus the interpolated residual.

    ``layers`` (homographies, ``H`` first; :func:`~.flow_layers.fit_layers`): each region pixel takes
    the layer its surroundings vote for (:func:`~.flow_layers.choose_layers`); without them, ``H``.
    The residual is read only where ``trusted`` (:func:`trusted_flow`), beyond a band of
    ``_RESIDUAL_BAND`` pixels around the region: DIS estimates flow coarse to fine, so the object's
    motion leaks that far into the background's flow (measured on paired clips: interpolating from
    the region's edge made the completed flow ~5x less accurate than the homography alone). It is
    interpolated per layer, from that layer's pixels, by local affine fits (:func:`local_affine_fill`).
    A residual of length ``r`` is scaled by ``r^2 / (r^2 + n^2)`` with ``n = _RESIDUAL_NOISE``:
    parallax of a pixel or more passes, the low-frequency bias of DIS (a few tenths of a pixel,
    which the frame-wide homography averages out) does not.
    """
    if not region.any():
        return flow
    ys, xs = _bbox(region, pad=_RESIDUAL_BAND + 24)
    sub_region = region[ys, xs]
    sub_flow, sub_trusted = flow[ys, xs], trusted[ys, xs]
    models = [homography_flow(L, sub_region.shape, (ys.start, xs.start)) for L in (layers or [H])]
    choice, owner = choose_layers(sub_flow, models, sub_trusted, sub_region)
    completed = np.zeros_like(sub_flow)
    for k, model in enumerate(models):
        mine = sub_region & (choice == k)
        if not mine.any():
            continue
        source = sub_trusted & (owner == k)  # the residual of a layer is read on its own pixels only
        residual = local_affine_fill(sub_flow - model, source, mine)[mine]
        # Soft-threshold it: what stays below the flow's own error is DIS's bias, not parallax.
        if _RESIDUAL_NOISE > 0:
            energy = (residual * residual).sum(axis=-1, keepdims=True)
            residual *= energy / (energy + _RESIDUAL_NOISE ** 2)
        completed[mine] = model[mine] + residual
    out = flow.copy()
    out[ys, xs] = np.where(sub_region[..., None], completed, sub_flow)
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
    layers = fit_layers(forward, trusted, H, _MAX_LAYERS) if region.any() else [H]
    forward = complete_flow(forward, region, H, trusted, layers)
    if backward is None:
        crop = _bbox(region, pad=_RESIDUAL_BAND + 24) if region.any() else None
        return forward, invert_flow(forward, crop), H
    return forward, complete_flow(backward, region, np.linalg.inv(H), trusted,
                                  [np.linalg.inv(L) for L in layers]), H


def local_affine_fill(values: np.ndarray, valid: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``values`` ``(h, w, 2)`` with ``region`` replaced by moving-least-squares affine fits to ``valid``.

    Each node of a ``_NODE``-px grid over the region fits ``v(p) ~ c + A (p - node)`` to the valid
    points of a ring around the region (Schaefer et al., "Image Deformation Using Moving Least
    Squares", SIGGRAPH 2006: weights ``1/d^4``, here relative to the nearest point), with a ridge on
    ``A`` and Cauchy reweighting (``_ROBUST_PX``) so that a differently moving layer near the hole
    (an occluder) does not pull the fit. An affine field is exact for a plane's motion under a
    translating or zooming camera (a ground plane's flow is linear in the row), where a smooth
    interpolation of the residual flattens towards its mean inside the hole.
    """
    h, w = valid.shape
    out = values.copy()
    outside = (~region).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    ring = valid & (distance <= distance[valid].min() + _RING) if valid.any() else valid
    ys, xs = np.mgrid[_NODE // 2:h:_NODE, _NODE // 2:w:_NODE]
    keep = ring[ys, xs]
    if keep.sum() < 3:
        return fill_smooth(values, valid)
    px, py = xs[keep].astype(np.float32), ys[keep].astype(np.float32)
    pv = values[ys[keep], xs[keep]].astype(np.float32)
    ny, nx = np.mgrid[0:h:_NODE, 0:w:_NODE]
    need = cv2.dilate(region.astype(np.uint8), np.ones((2 * _NODE + 1, 2 * _NODE + 1), np.uint8))[ny, nx] > 0
    gx, gy = nx[need].astype(np.float32), ny[need].astype(np.float32)
    dx = px[None, :] - gx[:, None]
    dy = py[None, :] - gy[:, None]
    d2 = dx * dx + dy * dy
    near = d2.min(axis=1, keepdims=True) + 1.0
    weight = (near / (d2 + 1.0)) ** 2  # 1 at the nearest points, falling as 1/d^4
    ridge = _RIDGE * near[:, 0]
    # Start from agreement with the frame's homography: a layer moving unlike the rest (a near post) starts weak.
    robust = np.broadcast_to(1.0 / (1.0 + (pv * pv).sum(-1) * (1.0 / _PRIOR_PX ** 2)), weight.shape)
    for _ in range(_ROBUST_ITERATIONS + 1):
        ww = weight * robust
        wx, wy = ww * dx, ww * dy
        s0, sx, sy = ww.sum(1), wx.sum(1), wy.sum(1)
        sxx, sxy, syy = (wx * dx).sum(1) + ridge, (wx * dy).sum(1), (wy * dy).sum(1) + ridge
        A = np.stack([np.stack([s0, sx, sy], -1), np.stack([sx, sxx, sxy], -1), np.stack([sy, sxy, syy], -1)], 1)
        b = np.stack([ww @ pv, wx @ pv, wy @ pv], 1)  # (n, 3, 2)
        coef = np.linalg.solve(A.astype(np.float64) + 1e-6 * np.eye(3), b.astype(np.float64)).astype(np.float32)
        ex = coef[:, None, 0, 0] + coef[:, None, 1, 0] * dx + coef[:, None, 2, 0] * dy - pv[None, :, 0]
        ey = coef[:, None, 0, 1] + coef[:, None, 1, 1] * dx + coef[:, None, 2, 1] * dy - pv[None, :, 1]
        robust = 1.0 / (1.0 + (ex * ex + ey * ey) * (1.0 / _ROBUST_PX ** 2))
    nodes = np.zeros((*ny.shape, 2), np.float32)
    nodes[need] = coef[:, 0, :]
    mx = np.broadcast_to((np.arange(w, dtype=np.float32) / _NODE)[None, :], (h, w))
    my = np.broadcast_to((np.arange(h, dtype=np.float32) / _NODE)[:, None], (h, w))
    dense = cv2.remap(nodes, np.ascontiguousarray(mx), np.ascontiguousarray(my), cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REPLICATE)
    out[region] = dense[region]
    return out

