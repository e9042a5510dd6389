"""Camera motion between frames, as homographies, so that frames can be compared point for point.

A side effect shows itself when the same scene point looks different once the object has moved on.
To compare the same point across frames of a moving camera, every frame of a window is warped onto
one reference frame by a homography (exact for a rotating camera or a planar scene — the ground a
shadow falls on). Motion is estimated between consecutive frames from corners tracked with
pyramidal Lucas-Kanade (Bouguet 2001) outside the object, then fitted by RANSAC (Fischler & Bolles
1981; OpenCV's USAC variant) so that the moving object and its moving shadow count as outliers.

Convention: a homography maps pixel coordinates of a frame to those of the reference frame.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

IDENTITY = np.eye(3)
STILL_PIXELS = 0.25  # corner displacement below which the camera counts as still
LK_WINDOW = 15  # Lucas-Kanade window (working pixels); 11 or 13 cost less but lose low-texture water under a pan
LK_STOP = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.03)  # iterations, pixels: OpenCV's 30, 0.01 cost ~25% more, align no better


def frame_motion(ref_grey: np.ndarray, grey: np.ndarray, usable: np.ndarray,
                 guess: np.ndarray | None = None) -> np.ndarray:
    """Homography ``(3, 3)`` from ``grey``'s coordinates to ``ref_grey``'s.

    ``usable`` (bool ``(H, W)``) marks pixels of static scene in both frames (not the object);
    ``guess`` is a homography to start tracking from (frames far apart). Returns ``guess`` (or the
    identity) when too few corners can be tracked to tell.
    """
    fallback = IDENTITY if guess is None else guess
    corners = cv2.goodFeaturesToTrack(grey, maxCorners=400, qualityLevel=0.01, minDistance=5,
                                      mask=usable.astype(np.uint8), blockSize=5)
    if corners is None or len(corners) < 12:
        return fallback
    flags, start = 0, None
    if guess is not None:
        flags, start = cv2.OPTFLOW_USE_INITIAL_FLOW, cv2.perspectiveTransform(corners, guess)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(grey, ref_grey, corners, start, winSize=(LK_WINDOW, LK_WINDOW),
                                                maxLevel=3, flags=flags, criteria=LK_STOP)
    ok = status.ravel() == 1
    if ok.sum() < 12:
        return fallback
    src, dst = corners[ok].reshape(-1, 2), moved[ok].reshape(-1, 2)
    if np.mean(np.abs(dst - src).max(axis=1) < STILL_PIXELS) >= 0.5:  # most of the scene did not move
        return IDENTITY
    # USAC (Raguram et al. 2013) in its fast setting: as well aligned as plain RANSAC here, a quarter of its cost.
    h, inliers = cv2.findHomography(src, dst, cv2.USAC_FAST, 1.0)
    if h is None or inliers.sum() < 10:
        log.debug("camera motion: too few inliers, keeping the guess")
        return fallback
    return h / h[2, 2]


def corner_shift(h: np.ndarray, size: tuple[int, int]) -> float:
    """Largest displacement, in pixels, that ``h`` gives a corner of a ``size = (w, h)`` frame."""
    w, hh = size
    pts = np.float32([[0, 0], [w, 0], [0, hh], [w, hh]]).reshape(-1, 1, 2)
    return float(np.abs(cv2.perspectiveTransform(pts, h) - pts).max())


def to_canvas(transforms: list[np.ndarray], size: tuple[int, int], limit: float = 2.0
              ) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Widen the reference frame into a canvas that holds every frame of the window.

    Returns the transforms shifted onto the canvas and its ``(w, h)``; the canvas is at most
    ``limit`` times the frame's size each way (memory), centred on the reference frame.
    """
    w, h = size
    pts = np.float32([[0, 0], [w, 0], [0, h], [w, h]]).reshape(-1, 1, 2)
    corners = np.concatenate([cv2.perspectiveTransform(pts, t).reshape(-1, 2) for t in transforms])
    spare_x, spare_y = (limit - 1) / 2 * w, (limit - 1) / 2 * h
    x0 = int(np.floor(max(corners[:, 0].min(), -spare_x)))
    y0 = int(np.floor(max(corners[:, 1].min(), -spare_y)))
    x1 = int(np.ceil(min(corners[:, 0].max(), w + spare_x)))
    y1 = int(np.ceil(min(corners[:, 1].max(), h + spare_y)))
    x0, y0, x1, y1 = min(x0, 0), min(y0, 0), max(x1, w), max(y1, h)
    shift = np.float64([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]])
    return [shift @ t for t in transforms], (x1 - x0, y1 - y0)


def is_still(transforms: list[np.ndarray], size: tuple[int, int]) -> bool:
    """Whether every transform moves the frame's corners by less than :data:`STILL_PIXELS`."""
    return all(corner_shift(h, size) < STILL_PIXELS for h in transforms)


def warp(image: np.ndarray, h: np.ndarray, size: tuple[int, int], inverse: bool = False,
         nearest: bool = False) -> np.ndarray:
    """Resample ``image`` by ``h`` (or by its inverse) onto a ``size = (w, h)`` grid; outside is 0."""
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    if inverse:
        flags |= cv2.WARP_INVERSE_MAP
    return cv2.warpPerspective(image, h, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def warp_mask(mask: np.ndarray, h: np.ndarray, size: tuple[int, int], inverse: bool = False) -> np.ndarray:
    """Resample a bool mask by ``h`` (nearest neighbour)."""
    return warp(mask.astype(np.uint8), h, size, inverse, nearest=True).astype(bool)


def coverage(h: np.ndarray, size: tuple[int, int], inverse: bool = False,
             source_size: tuple[int, int] | None = None) -> np.ndarray:
    """Bool ``(H, W)``: pixels of the target grid (``size``) that ``warp`` fills from inside the
    source (``source_size``, by default the same). One pixel is taken off the edge, where bilinear
    resampling mixes in the black border.
    """
    ones = np.ones((source_size or size)[::-1], np.uint8)
    inside = warp(ones, h, size, inverse, nearest=True)
    return cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)
