"""Background motion as a few planes: one motion model per layer, chosen per hole pixel.

A scene seen by a moving camera is often a few planes at different depths (a far backdrop, the
ground, a wall, a near post). Each plane's flow is a homography (affine under a trucking or
zooming camera), but the planes move differently (parallax), so one frame-wide homography plus a
smooth residual shears the farther layer inside a hole that spans two of them. Here the flow
outside the hole is explained by up to ``max_layers`` models: the frame-wide homography, then
affine layers found by sequential RANSAC on the points no earlier layer explains (Vincent and
Laganiere, "Detecting planar homographies in an image pair", ISPA 2001; Zuliani et al., "The
MultiRANSAC algorithm", ICIP 2005), then refined by reassigning points and refitting
(:func:`_refine`). Each trusted pixel is labelled with the layer that explains it; each hole pixel
takes the layer of the nearest labelled pixels along its row and column (:func:`choose_layers`).
"""

from __future__ import annotations

import cv2
import numpy as np

_STRIDE = 8  # grid step (working px) of the points the homographies are fitted to
_MIN_POINTS = 16
_INLIER_PX = 0.5  # a point within this of a layer's homography (working px) belongs to it
_MIN_SHARE = 0.1  # a further layer must explain at least this share of the points
_REFINE_ROUNDS = 3  # assignment / refit rounds after sequential RANSAC
_LABEL_MEDIAN = 3  # median filter over the layer labels (on the step-2 grid: 6 px)
_LABEL_PX = 1.5  # working px: a trusted pixel farther than this from every layer's flow votes for none


def _grid_points(flow: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = valid.shape
    ys, xs = np.mgrid[_STRIDE // 2:h:_STRIDE, _STRIDE // 2:w:_STRIDE]
    keep = valid[ys, xs]
    src = np.stack([xs[keep], ys[keep]], axis=-1).astype(np.float32)
    return src, src + flow[ys[keep], xs[keep]]


def _apply(H: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = points @ H[:2, :2].T + H[:2, 2]
    z = points @ H[2, :2] + H[2, 2]
    return p / np.where(np.abs(z) < 1e-9, 1e-9, z)[:, None]


def _fit(src: np.ndarray, dst: np.ndarray):
    """RANSAC affine fit as a 3x3 matrix, and its inlier flags: a plane's flow under a translating or
    zooming camera is affine, and 6 parameters cannot bend to straddle two planes as 8 can."""
    A, inliers = cv2.estimateAffine2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=_INLIER_PX,
                                      maxIters=300, confidence=0.99)
    return (None, None) if A is None else (np.vstack([A, [0.0, 0.0, 1.0]]), inliers)


def fit_layers(flow: np.ndarray, valid: np.ndarray, first: np.ndarray, max_layers: int) -> list[np.ndarray]:
    """3x3 motions ``[H1, H2, ...]`` explaining ``flow`` (``p + flow(p) ~ H(p)``) over ``valid``.

    ``first`` is the frame-wide homography (the dominant layer); each further layer is an affine
    map fitted by RANSAC to the points no earlier layer explains within ``_INLIER_PX``, while at
    least ``_MIN_SHARE`` of the points (and ``_MIN_POINTS``) remain. With more than one layer, all
    are refined to affine maps of their own points (:func:`_refine`); with one, ``[first]``.
    """
    layers = [first]
    src, dst = _grid_points(flow, valid)
    if not len(src):
        return layers
    todo = np.linalg.norm(_apply(first, src) - dst, axis=1) > _INLIER_PX
    while len(layers) < max_layers and todo.sum() >= max(_MIN_POINTS, _MIN_SHARE * len(src)):
        H, inliers = _fit(src[todo], dst[todo])
        if H is None or not np.isfinite(H).all() or inliers is None or inliers.sum() < _MIN_POINTS:
            break
        layers.append(H)
        rest = np.flatnonzero(todo)
        todo[rest[np.linalg.norm(_apply(H, src[rest]) - dst[rest], axis=1) <= _INLIER_PX]] = False
    return _refine(layers, src, dst)


def _refine(layers: list[np.ndarray], src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
    """Alternate: give each point to the layer that explains it best, refit each layer to its points.

    Sequential RANSAC takes the largest consensus first, which may straddle two planes whose flows
    are close near their boundary (the ground near the horizon); a few assignment rounds (as in
    k-means, or the PEARL energy of Isack and Boykov, IJCV 2012, without its smoothness term)
    settle each layer on its own plane.
    """
    if len(layers) < 2:
        return layers
    for _ in range(_REFINE_ROUNDS):
        errors = np.stack([np.linalg.norm(_apply(H, src) - dst, axis=1) for H in layers])
        owner = errors.argmin(0)
        owned = errors.min(0) <= 2 * _INLIER_PX
        refit = []
        for k, H in enumerate(layers):
            mine = owned & (owner == k)
            if mine.sum() >= _MIN_POINTS:
                G, _ = _fit(src[mine], dst[mine])
                H = G if G is not None and np.isfinite(G).all() else H
            refit.append(H)
        layers = refit
    return layers


def _nearest_along_rows(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel, the label of the nearest labelled pixel to its left (``label >= 0``) and the distance."""
    h, w = label.shape
    cols = np.where(label >= 0, np.arange(w)[None, :], -1)
    last = np.maximum.accumulate(cols, axis=1)
    found = last >= 0
    nearest = np.where(found, np.take_along_axis(label, np.maximum(last, 0), axis=1), -1)
    return nearest, np.where(found, np.arange(w)[None, :] - last, np.inf)


def choose_layers(flow: np.ndarray, models: list[np.ndarray], valid: np.ndarray, region: np.ndarray,
                  step: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(choice, owner)``, ``(h, w) int`` each: the layer each pixel of ``region`` takes, and the
    layer that explains each pixel's ``flow`` best (``models[k]``: layer ``k``'s flow ``(h, w, 2)``).

    A ``valid`` pixel whose flow its layer explains within ``_LABEL_PX`` is labelled. A region pixel
    looks for the nearest labelled pixel left, right, above and below it, and each votes for its
    layer with weight ``1/distance``: a layer boundary that crosses the hole (a horizon, the edge of
    a wall) is seen on both sides of it and carried straight through, where voting by area would let
    the layer with the most pixels around the hole take all of it.
    """
    if len(models) == 1:
        zero = np.zeros(region.shape, np.int64)
        return zero, zero
    h, w = region.shape
    if step > 1:  # labels are coarse: work on every step-th pixel, then repeat them
        choice, owner = choose_layers(flow[::step, ::step], [m[::step, ::step] for m in models],
                                      valid[::step, ::step], region[::step, ::step], step=1)
        grow = lambda a: np.repeat(np.repeat(a, step, axis=0), step, axis=1)[:h, :w]
        return grow(choice), grow(owner)
    errors = np.stack([((flow - m) ** 2).sum(-1) for m in models])
    owner = errors.argmin(0)
    label = np.where(valid & (errors.min(0) <= _LABEL_PX ** 2), owner, -1)
    # A median filter removes isolated labels (noise in the flow), which would otherwise cast a near vote.
    label = cv2.medianBlur((label + 1).astype(np.uint8), _LABEL_MEDIAN).astype(np.int64) - 1
    votes = np.zeros((len(models), *region.shape), np.float32)
    for flip, transpose in ((False, False), (True, False), (False, True), (True, True)):
        view = label.T if transpose else label
        view = view[:, ::-1] if flip else view
        nearest, distance = _nearest_along_rows(view)
        if flip:
            nearest, distance = nearest[:, ::-1], distance[:, ::-1]
        if transpose:
            nearest, distance = nearest.T, distance.T
        weight = (1.0 / np.maximum(distance, 1.0)).astype(np.float32)
        for k in range(len(models)):
            votes[k] += np.where(nearest == k, weight, 0)
    return votes.argmax(0), owner
