"""The drift of the ground below the object that the camera motion leaves (parallax).

The camera motion (:mod:`.align`) is one homography per frame, fitted to most of the scene: under a
sideways camera move that is the far scene, and the ground nearer the camera drifts against it.
Relative to the plane a homography fits, a static point's drift is its own scale (its inverse depth,
less the plane's) times one displacement per frame, the camera's (plane plus parallax: Sawhney 1994;
Irani & Anandan 1996). Corners on the ground under and beside the object's lower part are tracked
frame to frame with pyramidal Lucas-Kanade (Bouguet 2001), that rank-one model is fitted to their
tracks, and its drifts at the scales of the ground below the object are what a still object standing
(or hanging) there would show.
"""

from __future__ import annotations

import cv2
import numpy as np

from . import align

GROUND_REACH = 1.0  # the ground a still object stands on (or hangs over): this many object heights below its lowest row
GROUND_CORNERS = 80  # corners tracked on that ground
GROUND_POINTS = 8  # tracked points the parallax of a frame needs ...
GROUND_KNOWN = 0.75  # ... in this share of the frames that show the object
GROUND_AGREE = 1.0  # pixels: a point tracked there and back must land this close to where it started
GROUND_FIT = 1.0  # pixels: a point whose drift the rank-one model misses by more (RMS) is mistracked
GROUND_CANDIDATES = 48  # at most this many candidate drifts (a pixel apart where the range allows)
LK = dict(winSize=(align.LK_WINDOW, align.LK_WINDOW), maxLevel=2, flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
          criteria=align.LK_STOP)


def ground_drifts(greys: list[np.ndarray], transforms: list[np.ndarray], objs: list[np.ndarray],
                  blocked: list[np.ndarray], sampled: np.ndarray) -> list[np.ndarray]:
    """Candidate drifts ``(T, 2)`` (frame pixels, beyond the camera motion) of the ground below the object.

    ``greys`` are the frames ``(H, W)`` uint8, ``transforms`` their homographies onto the canvas,
    ``objs`` the object's masks and ``blocked`` where no ground may be tracked (the object, grown,
    and the user's regions); only the ``sampled`` frames (sorted indices) are tracked, the others
    take the camera's displacement interpolated between them. The candidates run over the scales of
    the ground points beside the object's base and below it (not under the object, where its own
    shadow or reflection moves with it), a pixel apart at most in any frame; none when the ground
    cannot be tracked.
    """
    n = len(greys)
    shown = [i for i in sampled if objs[i].any()]
    if not shown:
        return []
    k = min(shown, key=lambda i: abs(i - n // 2))  # the middle frame, or the nearest one showing the object
    rows = np.nonzero(objs[k].any(axis=1))[0]
    cols = np.nonzero(objs[k].any(axis=0))[0]
    height, bottom = rows[-1] - rows[0] + 1, rows[-1]
    band = np.zeros(objs[k].shape, np.uint8)
    band[int(max(bottom - 0.25 * height, 0)):int(bottom + GROUND_REACH * height + 1),
         int(max(cols[0] - 0.5 * height, 0)):int(cols[-1] + 0.5 * height + 1)] = 1
    band[blocked[k]] = 0
    corners = cv2.goodFeaturesToTrack(greys[k], maxCorners=GROUND_CORNERS, qualityLevel=0.01, minDistance=3,
                                      mask=band, blockSize=5)
    if corners is None or len(corners) < GROUND_POINTS:
        return []
    drift = track_drift(greys, transforms, blocked, list(sampled), k, corners)
    used = np.ones(len(corners), bool)
    for _ in range(2):  # fit, leave out the points the fit misses, fit again
        camera = rank_one(drift[:, used])[0]
        model = point_scales(drift, camera)[None, :, None] * camera[:, None]
        used = np.sqrt(np.nanmean(np.sum((drift - model) ** 2, axis=2), axis=0)) <= GROUND_FIT
    known = np.nonzero(np.sum(np.isfinite(drift[:, used, 0]), axis=1) >= GROUND_POINTS)[0]  # among the sampled
    x, y = corners.reshape(-1, 2)[used].T
    below = (y >= bottom - 0.1 * height) & ((x < cols[0]) | (x > cols[-1]))
    if used.sum() < GROUND_POINTS or len(known) < max(2, GROUND_KNOWN * len(shown)) or not below.any():
        return []
    camera, scale = rank_one(drift[:, used])
    at = np.asarray(sampled)[known]  # other frames: interpolated, or the nearest known frame's beyond those
    camera = np.stack([np.interp(np.arange(n), at, camera[known, c]) for c in range(2)], axis=1)
    # No farther than the tracks went: a point known in a few frames only may get any scale.
    largest, reach = np.nanmax(np.abs(drift[:, used])), np.abs(camera).max()
    if reach == 0:
        return []
    lo, hi = np.clip([scale[below].min(), scale[below].max()], -largest / reach, largest / reach)
    steps = min(int(np.ceil((hi - lo) * reach)) + 1, GROUND_CANDIDATES)
    return [s * camera for s in np.linspace(lo, hi, steps)]


def track_drift(greys: list[np.ndarray], transforms: list[np.ndarray], blocked: list[np.ndarray],
                frames: list[int], k: int, corners: np.ndarray) -> np.ndarray:
    """Drift ``(len(frames), N, 2)`` of the ``corners`` ``(N, 1, 2)`` of frame ``k`` (one of ``frames``)
    in each of ``frames`` beyond where the camera motion puts them (NaN once lost): tracked from
    one of ``frames`` to the next outwards from ``k``, each step starting from the camera motion; a
    point is lost where tracking back does not return it within :data:`GROUND_AGREE` (occlusion),
    or where it reaches a ``blocked`` pixel or leaves the frame."""
    (h, w), ref = greys[0].shape, frames.index(k)
    drift = np.full((len(frames), len(corners), 2), np.nan)
    drift[ref] = 0
    for order in (range(ref + 1, len(frames)), range(ref - 1, -1, -1)):
        at, alive, prev = corners.copy(), np.arange(len(corners)), k
        for j in order:
            i = frames[j]
            guess = cv2.perspectiveTransform(at, np.linalg.inv(transforms[i]) @ transforms[prev])
            there, ok, _ = cv2.calcOpticalFlowPyrLK(greys[prev], greys[i], at, guess, **LK)
            back, ok_back, _ = cv2.calcOpticalFlowPyrLK(greys[i], greys[prev], there, at.copy(), **LK)
            xy = np.round(there.reshape(-1, 2)).astype(int)
            keep = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (np.abs(back - at).reshape(-1, 2).max(axis=1) < GROUND_AGREE)
            keep &= (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
            keep[keep] = ~blocked[i][xy[keep, 1], xy[keep, 0]]
            if not keep.any():
                break
            at, alive, prev = there[keep], alive[keep], i
            predicted = cv2.perspectiveTransform(corners[alive], np.linalg.inv(transforms[i]) @ transforms[k])
            drift[j, alive] = (at - predicted).reshape(-1, 2)
    return drift


def point_scales(drift: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """Least-squares scale ``(N,)`` of each point's drift ``(T, N, 2)`` (NaN: unknown) along ``camera`` ``(T, 2)``."""
    known = np.isfinite(drift[..., 0])
    num = np.einsum("tnc,tc->n", np.nan_to_num(drift), camera)
    return num / np.maximum((known * np.sum(camera ** 2, axis=1)[:, None]).sum(axis=0), 1e-9)


def rank_one(drift: np.ndarray, rounds: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``drift (T, N, 2)`` (NaN: unknown) as ``scale[n] * camera[t]``, by alternating least squares:
    ``camera (T, 2)`` (0 in a frame where no point is known) and ``scale (N,)``."""
    known = np.isfinite(drift[..., 0])
    values = np.nan_to_num(drift)
    scale = np.ones(drift.shape[1])
    for _ in range(rounds):
        weight = known * scale[None]
        camera = np.einsum("tn,tnc->tc", weight, values) / np.maximum((weight * scale[None]).sum(axis=1), 1e-9)[:, None]
        scale = point_scales(drift, camera)
    return camera, scale
