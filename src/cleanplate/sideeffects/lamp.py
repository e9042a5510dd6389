"""The light of a lamp that stays put: a radial, coloured brightening found from the surroundings.

A lamp (the object is the light source) multiplies the surface near it by a per-channel gain
``1 + a(d) c`` (Phong/Lambert shading with a coloured light; the intrinsic-image model
``I = S * R`` with a coloured ``S``, as in :mod:`.tinted`), with ``a`` falling off smoothly with the
distance ``d`` from the lamp. When the lamp does not move, no frame shows the ground around it unlit
and every temporal cue is blind. What is left is space: the same surface, farther out, is lit less.

The comparison is made where the surface is most likely the same: along the rows of the image
(a horizon, the foot of a wall, the edge of a floor run across rows, so a row band rarely changes
surface between the object and a point farther out along it). Around the object, in bands of
``BAND`` object heights and on each side of it, the median log colour at each distance (in object
heights; a median, so texture does not count) is compared with the same band's median farther out
(``FAR``). A lamp shows, in most cells and on both sides, as a log-ratio that is positive in every
channel, falls with distance and points in one colour direction everywhere; a bright wall behind
the object, a lit patch beside it or a change of surface at the horizon shows in some cells, on one
side, or in colours that disagree.

Where that holds (:func:`fit_still_lamp`, on a few frames of a window), the falloff ``s(d)`` is the
median over all cells of the log-ratio along the lamp's colour direction ``u``, above and below the
object's middle row apart, made monotone (non-increasing, non-negative; pool-adjacent-violators),
and the gain at a pixel is ``exp(s(d) u)`` (:func:`lamp_gain`). The surface unlit is the frame
divided by that gain: relighting (:mod:`.relight`) divides it out where it exceeds the light
threshold. The fit is rough (the medians of a textured surface scatter by about a tenth in log
units from cell to cell), so the relit surface keeps some of the light, or loses a little too much.

Off by default (``SideEffectConfig.still_lamps``): the region it marks is never seen unlit, and an
engine that invents such spots (the propagate engine's ``affected_unseen="fill"``, its default)
replaces a large lit area by a smooth guess, which scores lower than leaving the light; with
``affected_unseen="keep"`` the relit surface is kept, which helps on most clips where a lamp is
found and hurt badly on one (see docs/side-effects.md for the figures).

Cost: a few hundred medians of small pixel sets on three frames of a window whose object stands
still; nothing where the object moves, nothing with the option off.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .config import SideEffectConfig
from .select import distance_to, object_height
from .shadows import EPS, ramp
from .window import box_of

BAND = 0.25  # row bands of this many object heights ...
REACH = 0.7  # ... from this far above the object's top to this far below its bottom
EDGES = np.array([0.05, 0.2, 0.35, 0.5, 0.7, 0.9, 1.1, 1.3], np.float32)  # distance bins, object heights
FAR = (1.3, 2.2)  # the reference: the same band, this far out (object heights)
NEAR_BINS, MID_BINS = slice(0, 2), slice(2, 4)  # near: 0.05-0.35, mid: 0.35-0.7 object heights
MIN_PIXELS = 4  # a cell's bin needs this many pixels
CELL_GAIN = 0.03  # log-gain every channel must show near the object, in a lit cell ...
FALLS = 0.02  # ... more by this (log) than a little farther out ...
COLOUR_COS = 0.97  # ... along the lamp's colour direction (cosine)
LIT_SHARE = 0.45  # a frame shows a lamp when this share of its cells is lit ...
SIDE_SHARE = 0.3  # ... and this share on each side of the object
FRAMES = 3  # frames of a window looked at; most of them must show the lamp


@dataclasses.dataclass
class StillLamp:
    """A still lamp's light: the log-gain falloff (per ``centres`` distance, in object heights) above
    and below the object's middle row (``above``, ``below``: a lamp lights the floor under it farther
    than the wall behind it) along the unit colour direction ``colour`` (3,)."""

    centres: np.ndarray
    above: np.ndarray
    below: np.ndarray
    colour: np.ndarray


def _cells(image: np.ndarray, obj: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per cell (row band x side of the object), the median log colour in each distance bin less that
    of the same cell's ``FAR`` bin: ``(cells, bins, 3)`` float32 (NaN: too few pixels), the side
    (0 left, 1 right) of each cell and whether it lies below the object's middle row. None: no object."""
    if not height:
        return None
    reach = int(FAR[1] * height) + 1
    y0, y1, x0, x1 = box_of(obj, pad=reach)
    img, ob = image[y0:y1, x0:x1], obj[y0:y1, x0:x1]
    d = distance_to(ob) / height
    ys, xs = np.nonzero(ob)
    cx, cy = xs.mean(), ys.mean()
    band = max(2, int(round(BAND * height)))
    top, bottom = max(0, ys.min() - int(REACH * height)), min(ob.shape[0], ys.max() + int(REACH * height))
    bins = np.digitize(d, EDGES) - 1  # 0 .. len(EDGES) - 2 inside EDGES
    bins[(d > FAR[0]) & (d <= FAR[1])] = len(EDGES) - 1  # the reference bin
    bins[(d <= EDGES[0]) | (d > FAR[1]) | ob] = -1
    logs = np.log(img.astype(np.float32) + EPS)
    right = np.arange(ob.shape[1]) >= cx
    nb = len(EDGES)
    out, sides, below = [], [], []
    for r0 in range(top, bottom, band):
        for side in (0, 1):
            cols = right == bool(side)
            b = bins[r0:r0 + band][:, cols]
            v = logs[r0:r0 + band][:, cols]
            m = np.full((nb, 3), np.nan, np.float32)
            for k in range(nb):
                sel = b == k
                if sel.sum() >= MIN_PIXELS:
                    m[k] = np.median(v[sel], axis=0)
            if np.isnan(m[-1, 0]) or np.isnan(m[NEAR_BINS, 0]).all():
                continue
            out.append(m[:-1] - m[-1])
            sides.append(side)
            below.append(r0 + 0.5 * band >= cy)
    if not out:
        return None
    return np.stack(out), np.array(sides), np.array(below)


def _bin_mean(ratios: np.ndarray, bins: slice) -> np.ndarray:
    """Per cell, the mean ``(cells, 3)`` of ``ratios`` over the distance ``bins`` that hold pixels (NaN: none)."""
    values = ratios[:, bins]
    count = (~np.isnan(values)).sum(axis=1)
    return np.where(count > 0, np.nansum(values, axis=1) / np.maximum(count, 1), np.nan)


def _lit_cells(ratios: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Which cells show a lamp's light (see the module's docstring), and its colour direction (unit
    (3,); None: too few cells brighten to tell)."""
    near, mid = _bin_mean(ratios, NEAR_BINS), _bin_mean(ratios, MID_BINS)
    brighter = (near > CELL_GAIN).all(axis=1)
    if brighter.sum() < 3:
        return np.zeros(len(ratios), bool), None
    unit = near[brighter] / np.linalg.norm(near[brighter], axis=1, keepdims=True)
    colour = np.median(unit, axis=0)
    colour /= np.linalg.norm(colour)
    cosine = (near @ colour) / np.maximum(np.linalg.norm(near, axis=1), 1e-6)
    falls = np.nan_to_num(near.mean(axis=1) - mid.mean(axis=1), nan=-1.0) > FALLS
    return brighter & falls & (cosine > COLOUR_COS), colour


def _decreasing(values: np.ndarray) -> np.ndarray:
    """The least-squares non-increasing fit to ``values`` (pool-adjacent-violators)."""
    blocks: list[list[float]] = []  # [mean, count]
    for v in values:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            m2, n2 = blocks.pop()
            m1, n1 = blocks.pop()
            blocks.append([(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2])
    return np.concatenate([np.full(int(n), m) for m, n in blocks]).astype(np.float32)


def fit_still_lamp(images: list[np.ndarray], objs: list[np.ndarray]) -> StillLamp | None:
    """The light of a still lamp from a few frames ``(H, W, 3) uint8`` and their object masks
    ``(H, W) bool``, or None where most of them do not show one (see the module's docstring)."""
    shows, all_ratios, all_below, colours = 0, [], [], []
    for image, obj in zip(images, objs):
        cells = _cells(image, obj, object_height(obj))
        if cells is None:
            continue
        ratios, sides, below = cells
        lit, colour = _lit_cells(ratios)
        per_side = [lit[sides == s].mean() if (sides == s).any() else 0.0 for s in (0, 1)]
        if lit.mean() >= LIT_SHARE and min(per_side) >= SIDE_SHARE:
            shows += 1
            colours.append(colour)
        all_ratios.append(ratios)
        all_below.append(below)
    if not colours or shows * 2 <= len(images):
        return None
    colour = np.median(np.stack(colours), axis=0)
    colour /= np.linalg.norm(colour)
    along = np.concatenate(all_ratios) @ colour  # (cells, bins)
    below = np.concatenate(all_below)
    both = _falloff(along)
    above_, below_ = (_falloff(along[below == b], both) for b in (False, True))
    centres = np.append(0.5 * (EDGES[:-1] + EDGES[1:]), FAR[0])
    return StillLamp(centres, above_, below_, colour.astype(np.float32))


def _falloff(along: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Per distance bin, the median over the cells ``along`` ``(cells, bins)`` (NaN: none there) made
    non-increasing and non-negative, with 0 appended (beyond the last bin the light is what the
    reference holds: none, by construction). A bin with fewer than 3 cells takes ``fallback``'s value."""
    count = (~np.isnan(along)).sum(axis=0)
    median = np.array([np.median(c[~np.isnan(c)]) if n >= 3 else np.nan for c, n in zip(along.T, count)])
    if fallback is not None:
        median = np.where(np.isnan(median), fallback[:-1], median)
    falloff = np.maximum(_decreasing(np.nan_to_num(median, nan=0.0)), 0.0)
    return np.append(falloff, 0.0).astype(np.float32)


def lamp_gain(lamp: StillLamp, obj: np.ndarray, height: int) -> np.ndarray:
    """The lamp's gain ``(H, W, 3)`` float32 around ``obj`` (``(H, W)`` bool, ``height`` pixels tall):
    ``exp(s(d) u)``, 1 farther than the fit reaches."""
    d = distance_to(obj) / max(height, 1)
    ys = np.nonzero(obj)[0]
    # Above and below the object's middle row, blended over half its height.
    rows = np.arange(obj.shape[0], dtype=np.float32)[:, None]
    w = np.clip((rows - ys.mean()) / max(height, 1) + 0.5, 0.0, 1.0) if ys.size else np.full_like(rows, 0.5)
    s = ((1 - w) * np.interp(d, lamp.centres, lamp.above, right=0.0)
         + w * np.interp(d, lamp.centres, lamp.below, right=0.0)).astype(np.float32)
    return np.exp(s[..., None] * lamp.colour).astype(np.float32)


def still_lamp_evidence(lamp: StillLamp, frame: np.ndarray, obj: np.ndarray, where: np.ndarray, height: int,
                        config: SideEffectConfig) -> tuple[np.ndarray, np.ndarray]:
    """Evidence ``(H, W)`` float32 of the still lamp's light inside ``where`` (the fitted luminance
    gain, ``bright_weak`` to ``bright_strong``) and the surface unlit, ``frame / gain`` (float32 RGB)."""
    gain = lamp_gain(lamp, obj, height)
    evidence = ramp(gain.mean(axis=-1) - 1.0, config.bright_weak, config.bright_strong) * where
    return evidence.astype(np.float32), frame / gain
