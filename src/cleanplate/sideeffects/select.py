"""From evidence to a side-effect region: near the object, seeded by strong evidence, capped.

Evidence of change is everywhere in real footage (noise, other movers, lighting drift). What the
object caused is (1) near it — within a few object heights, (2) one connected region seeded by
clear evidence and grown into weaker evidence (hysteresis, as in Canny 1986), and (3) not a large
part of the frame: an estimate bigger than ``max_fraction`` of the frame is capped to its strongest
part (nearest the object among equals) rather than allowed to wipe the shot. (4) It moves with the object: a region must be found
again, at the same place relative to the object, in the neighbouring frames — flicker on water or
foliage is not.
"""

from __future__ import annotations

import cv2
import numpy as np

SEED_LEVEL = 0.8  # evidence a region needs somewhere to count
GROW_LEVEL = 0.02  # evidence a region grows through


def object_height(obj: np.ndarray) -> int:
    """Height in pixels of the bounding box of ``obj`` (0 when empty)."""
    rows = np.nonzero(obj.any(axis=1))[0]
    return int(rows[-1] - rows[0] + 1) if len(rows) else 0


def distance_to(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance ``(H, W)`` float32 of every pixel to the nearest pixel of ``mask``."""
    if not mask.any():
        return np.full(mask.shape, np.inf, np.float32)
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)


def search_zone(obj: np.ndarray, user: np.ndarray, radius: float, user_margin: float) -> np.ndarray:
    """Pixels within ``radius`` of the object or within ``user_margin`` of the user's AFFECTED region."""
    zone = distance_to(obj) <= radius
    if user.any():
        zone |= distance_to(user) <= user_margin
    return zone


def contact_zone(obj: np.ndarray, reach: float, base: float = 0.15) -> np.ndarray:
    """Where a shadow of a resting object can fall next to it: within ``reach`` pixels of the lowest
    ``base`` fraction of the object, and not above that band (the ground is below the object's top)."""
    height = object_height(obj)
    if not height:
        return np.zeros(obj.shape, bool)
    rows = np.nonzero(obj.any(axis=1))[0]
    top_of_band = rows[-1] - max(1, int(base * height))
    band = obj.copy()
    band[:top_of_band] = False
    zone = distance_to(band) <= reach
    zone[:top_of_band] = False
    return zone


def label_regions(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected regions of ``mask`` (bool or uint8 ``(H, W)``): ``(count, labels (H, W) int32, area (count,))``,
    label 0 being the background. (``connectedComponentsWithStats`` gives the same, but its statistics
    cost four times the labelling; only the areas are needed here.)"""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8, copy=False), connectivity=8)
    return count, labels, np.bincount(labels.ravel(), minlength=count)


def grow_regions(evidence: np.ndarray, min_area: float, touch: np.ndarray | None = None) -> np.ndarray:
    """Connected regions of ``evidence > GROW_LEVEL`` that hold a seed (``>= SEED_LEVEL``), cover at
    least ``min_area`` pixels and, when ``touch`` is given, touch it. Bool ``(H, W)``."""
    seeds = evidence >= SEED_LEVEL
    if not seeds.any():  # no region can count: the labelling is not needed
        return np.zeros(evidence.shape, bool)
    count, labels, area = label_regions(evidence > GROW_LEVEL)
    if count <= 1:
        return np.zeros(evidence.shape, bool)
    keep = np.zeros(count, bool)
    keep[labels[seeds]] = True  # (no np.unique: a sort, and numpy.ma imported on first use)
    if touch is not None:
        near = cv2.dilate(touch.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        touching = np.zeros(count, bool)
        touching[labels[near]] = True
        keep &= touching
    keep[0] = False
    keep &= area >= min_area
    return keep[labels]


def grow_fringe(found: np.ndarray, evidence: np.ndarray, radius: int) -> np.ndarray:
    """``found`` plus the pixels of ``evidence > GROW_LEVEL`` within ``radius`` pixels of it."""
    if not found.any() or radius <= 0:
        return found
    near = cv2.dilate(found.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))).astype(bool)
    return found | (near & (evidence > GROW_LEVEL))


def mixed_pixels(dark: np.ndarray, bright: np.ndarray, reach: int) -> np.ndarray:
    """Pixels darker than the background within ``reach`` pixels of brighter ones, or the reverse.

    A shadow darkens, a lamp brightens, each over a whole patch; texture that is misaligned with its
    background (parallax, a plane the camera motion does not fit) is darker on one side of every
    edge and brighter on the other, finely interleaved.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    near_dark = cv2.dilate(dark.astype(np.uint8), kernel).astype(bool)
    near_bright = cv2.dilate(bright.astype(np.uint8), kernel).astype(bool)
    return (dark & near_bright) | (bright & near_dark)


def drop_mixed(found: np.ndarray, mixed: np.ndarray, level: float) -> np.ndarray:
    """The connected regions of ``found`` in which at most ``level`` of the pixels are ``mixed``
    (:func:`mixed_pixels`): misaligned texture, not a shadow or a light. Bool ``(H, W)``."""
    if not (found & mixed).any():  # every region keeps its share of 0
        return found
    count, labels, area = label_regions(found)
    if count <= 1:
        return found
    share = np.bincount(labels[mixed], minlength=count) / np.maximum(area, 1)
    keep = share <= level
    keep[0] = False
    return keep[labels]


def keep_persistent(found: np.ndarray, support: np.ndarray, level: float) -> np.ndarray:
    """The connected regions of ``found`` whose mean ``support`` (the share of neighbouring frames
    that found a region there, relative to the object) is at least ``level``. Bool ``(H, W)``."""
    count, labels, area = label_regions(found)
    if count <= 1:
        return found
    mean = np.bincount(labels[found], weights=support[found], minlength=count) / np.maximum(area, 1)
    keep = mean >= level
    keep[0] = False
    return keep[labels]


def fill_from_neighbours(found: np.ndarray, evidence: np.ndarray, support: np.ndarray, excluded: np.ndarray,
                         level: float, min_area: float) -> np.ndarray:
    """``found`` plus the regions that the neighbouring frames found and this frame shows evidence of:
    the connected parts of ``evidence > GROW_LEVEL`` where ``support >= level``, outside ``excluded``,
    of at least ``min_area`` pixels. Bool ``(H, W)``.

    The hysteresis of :func:`grow_regions` carried across time: a region found in most of the
    neighbouring frames (at the same place relative to the object) is the seed, and this frame's weak
    evidence is what it grows through. A frame whose own regions were all dropped (joined to
    misaligned texture nearby, or too faint to seed) keeps the effect its neighbours agree on.
    Where no neighbouring frame found anything, nothing is added.
    """
    grown = (evidence > GROW_LEVEL) & (support >= level) & ~excluded & ~found
    if not grown.any():
        return found
    count, labels, area = label_regions(grown)
    keep = area >= min_area
    keep[0] = False
    return found | keep[labels]


def cap_region(soft: np.ndarray, chosen: np.ndarray, obj: np.ndarray, max_pixels: int) -> tuple[np.ndarray, bool]:
    """Keep at most ``max_pixels`` of ``chosen``: the strongest, and of equally strong ones the
    nearest to the object. Returns ``(kept (H, W) bool, capped)``."""
    count = int(chosen.sum())
    if count <= max_pixels:
        return chosen, False
    ys, xs = np.nonzero(chosen)
    nearness = -distance_to(obj)[ys, xs]
    order = np.lexsort((nearness, soft[ys, xs]))[::-1][:max_pixels]  # by soft, then nearness, descending
    kept = np.zeros(chosen.shape, bool)
    kept[ys[order], xs[order]] = True
    return kept, True
