"""Background motion as a few planes: one homography per layer, chosen per hole pixel.

A scene seen by a moving camera is often a few planes at different depths (a far backdrop, the
ground, a wall, a near post). Each plane's flow is exactly a homography, but the planes move
differently (parallax), so one frame-wide homography plus a smooth residual shears the farther
layer inside a hole that spans two of them. Here the flow outside the hole is explained by up to
``max_layers`` homographies found by sequential RANSAC (Vincent and Laganiere, "Detecting planar
homographies in an image pair", ISPA 2001; the multi-model fitting of Zuliani et al., "The
MultiRANSAC algorithm", ICIP 2005). Each trusted pixel is labelled with the layer that explains it;
each hole pixel takes the layer its surroundings vote for (push-pull interpolation of the labels,
so the nearest labelled pixels count most) and that layer's homography flow.
"""

from __future__ import annotations

import cv2
import numpy as np

_STRIDE = 8  # grid step (working px) of the points the homographies are fitted to
_MIN_POINTS = 16
_INLIER_PX = 1.0  # a point within this of a layer's homography (working px) belongs to it
_MIN_SHARE = 0.04  # a further layer must explain at least this share of the points
_LABEL_PX = 1.5  # a trusted pixel farther than this from every layer's flow votes for none


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


def fit_layers(flow: np.ndarray, valid: np.ndarray, first: np.ndarray, max_layers: int) -> list[np.ndarray]:
    """Homographies ``[first, H2, ...]`` explaining ``flow`` (``p + flow(p) ~ H(p)``) over ``valid``.

    ``first`` is the frame-wide fit (the dominant layer); each further layer is fitted by RANSAC
    to the points no earlier layer explains, while at least ``_MIN_SHARE`` of the points remain.
    """
    layers = [first]
    src, dst = _grid_points(flow, valid)
    if not len(src):
        return layers
    todo = np.linalg.norm(_apply(first, src) - dst, axis=1) > _INLIER_PX
    while len(layers) < max_layers and todo.sum() >= max(_MIN_POINTS, _MIN_SHARE * len(src)):
        H, inliers = cv2.findHomography(src[todo], dst[todo], cv2.RANSAC, _INLIER_PX, maxIters=300, confidence=0.99)
        if H is None or not np.isfinite(H).all() or inliers is None or inliers.sum() < _MIN_POINTS:
            break
        layers.append(H)
        rest = np.flatnonzero(todo)
        todo[rest[np.linalg.norm(_apply(H, src[rest]) - dst[rest], axis=1) <= _INLIER_PX]] = False
    return layers


def choose_layers(flow: np.ndarray, models: list[np.ndarray], valid: np.ndarray, region: np.ndarray,
                  smooth) -> np.ndarray:
    """``(h, w) int`` layer index per pixel of ``region``, voted for by the labelled ``valid`` pixels.

    ``models[k]`` is layer ``k``'s flow ``(h, w, 2)``; ``smooth(values, valid)`` interpolates
    ``values`` ``(h, w, c)`` from ``valid`` pixels (push-pull).
    """
    errors = np.stack([((flow - m) ** 2).sum(-1) for m in models])
    label = errors.argmin(0)
    labelled = valid & (errors.min(0) <= _LABEL_PX ** 2)
    if len(models) == 1 or not labelled.any():
        return np.zeros(region.shape, np.int64)
    votes = (label[..., None] == np.arange(len(models))).astype(np.float32)
    return smooth(votes, labelled).argmax(-1)
