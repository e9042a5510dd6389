"""Reflection-aware fill: rebuild the water under a removed object from the plate above it.

A horizontal reflecting surface (water, a glossy floor) shows, at the row ``y`` below its line
``l``, the scene at row ``2 l - y`` above it, dimmed and mixed with the surface's own colour:
``I(y) = a * I(2l - y) + (1 - a) * W(y)`` (planar mirror; ``a`` is the surface's reflectance).
Removing the object changes only the first term. So once the engine has filled the object above
the line, the water below is corrected by what the mirror would show of that change,

    ``clean(y) = I(y) + a * (fill(2l - y) - I(2l - y))``,

which keeps the surface's own texture, ripples and glints untouched. Unlike propagation it needs
no frame where the water is seen without the reflection, so it works for an object that never
leaves its spot.

The line is found by mirror symmetry: among rows near the base of each part of the object mask,
the one about which the image below best correlates with the image above, flipped. ``a`` is the
least-squares slope of the water against the mirrored image above it.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .. import quadmask
from .reflections import MIN_PART, mirror_parts

MIN_HEIGHT = 24  # pixels: smaller parts (mask fragments) have too few rows to recognise a reflection by
SEARCH_UP = 0.35  # the line may lie this many part heights above the mask's lowest row (a floating hull)
SEARCH_DOWN = 1.0  # ... or this many below it (a mask drawn too big, a part that does not touch the surface)
BAND = 0.6  # rows below the line compared, in part heights
MIN_NCC = 0.6  # mirror correlation (of the image and of its detail) a reflection needs to be corrected
COARSE_ROWS = 48  # the coarse search runs on an image shrunk until the part is about this many rows tall
PART_STEP = 4  # the mask's parts are found on every this-many-th pixel
COARSE_KEEP = 3  # coarse candidate lines refined at full resolution
COARSE_NCC = 0.45  # correlation the coarse search needs to go on
MIN_SHOWN = 0.2  # share of the object whose mirror image must lie outside it
MIN_DETAIL = 3.0  # grey levels: an object plainer than this (in its fine detail) is not recognised
MIN_STD = 4.0  # grey levels: a band flatter than this shows nothing to correlate
MIN_ATTENUATION = 0.1  # below this the reflection is too faint to matter
DETAIL = 4.0  # pixels: the symmetry is judged on the detail finer than this
BLUR = 1.5  # pixels: ripples displace the reflection by about this much
SKIP = 1 + int(np.ceil(2 * BLUR))  # rows next to the line that the blur mixes with the object
RIPPLE_REACH = (4, 2)  # largest ripple displacement searched, pixels (x, y)
AGREE = (8.0, 20.0)  # grey levels: the engine's water within the first agrees with the mirror; beyond the second it was invented
AGREE_SIGMA = 2.0  # pixels: the disagreement is judged over a small neighbourhood
RIPPLE_WINDOW = (11, 1)  # block-matching window, pixels (width, height): ripples change from row to row
SHIFT_COST = 0.05  # relative cost of each pixel of shift


@dataclasses.dataclass(frozen=True)
class Mirror:
    """A reflecting surface under one part of the object.

    ``line2`` is twice the mirror line's row, so that lines between two rows are exact: the row
    ``y`` below mirrors the row ``line2 - y`` above. Columns ``[x0, x1)``; ``attenuation`` is ``a``;
    ``ncc`` is the symmetry's correlation.
    """

    x0: int
    x1: int
    line2: int
    attenuation: float
    ncc: float


def _mean(a: np.ndarray) -> np.floating:
    """``a.mean()`` of a float array, to the bit, without its Python overhead (called per candidate line)."""
    total = np.add.reduce(a)
    return total.dtype.type(total / np.intp(a.size))


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a - _mean(a)
    b = b - _mean(b)
    den = float(np.sqrt(np.add.reduce(a * a) * np.add.reduce(b * b)))
    return float(np.add.reduce(a * b)) / den if den > 0 else 0.0


def _line_scores(grey: np.ndarray, obj: np.ndarray, lines2, depth: int, skip: int = SKIP) -> list[tuple[float, int]]:
    """``(ncc, line2)`` per candidate line (twice its row): how symmetric ``grey`` is about it.

    Only the object's own mirror image counts (pixels below, outside ``obj``, whose mirror source is
    in ``obj``): a reflection repeats the object's texture, while the ground under a shadow or a
    plain floor shares at most its outline and the smooth changes of brightness down the frame.
    """
    scores = []
    clear = ~obj
    for line2 in lines2:
        # rows below the line, down to ``depth`` or the frame's edge; the first few are skipped, as
        # the blur mixes the object into them
        half = line2 // 2
        first, last = half + skip, half + min(depth, len(grey) - 1 - half, line2 - half)
        if last - first + 1 < 3:
            continue
        below = np.s_[first:last + 1]
        stop = line2 - last - 1  # the rows they mirror, from line2 - first up to line2 - last: a reversed slice
        above = np.s_[line2 - first:stop if stop >= 0 else None:-1]
        take = obj[above] & clear[below]  # the object's mirror image where the object itself is not
        if np.count_nonzero(take) < MIN_PART:
            continue
        scores.append((_ncc(grey[below][take], grey[above][take]), line2))
    return scores


def _parts(obj: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The parts of ``obj`` at least ``MIN_HEIGHT`` rows tall, found on every ``PART_STEP``-th pixel
    (bounds accurate to that: enough to place the search)."""
    return [p for p in mirror_parts(obj, PART_STEP) if p[3] - p[2] + 1 >= MIN_HEIGHT]


def _detail_ncc(grey: np.ndarray, obj: np.ndarray, line2: int, depth: int, skip: int, sigma: float):
    """``(ncc of the detail, rows below, object pixels mirrored there)`` about one line.

    A shadow or a lit patch under the object follows its outline with smooth changes of brightness,
    which can correlate too; only a reflection repeats the object's fine detail. None if too little
    of the object is mirrored outside it, or the object is too plain to recognise.
    """
    depth = min(depth, len(grey) - 1 - line2 // 2)
    below = line2 // 2 + np.arange(skip, depth + 1)
    take = obj[line2 - below] & ~obj[below]
    detail = grey - cv2.GaussianBlur(grey, (0, 0), sigma)
    shown = detail[line2 - below][take]
    if take.sum() < max(MIN_SHOWN * obj.sum(), 8) or shown.std() < MIN_DETAIL:
        return None
    return _ncc(detail[below][take], shown), below, take


def find_mirrors(frame: np.ndarray, obj: np.ndarray) -> list[Mirror]:
    """The reflecting surfaces under the parts of ``obj`` (bool ``(H, W)``) in ``frame`` (uint8 RGB).

    A part gets a :class:`Mirror` when the image below some line near its base is a mirror image
    of the image above, in its brightness and in its fine detail (correlation at least ``MIN_NCC``
    for both), and not too faint. The line is searched coarse to fine: whole rows of an image
    shrunk until the part is ``COARSE_ROWS`` tall, where the parts of most videos already fail
    (``COARSE_NCC``), then half rows at full resolution around the best few.
    """
    h, w = obj.shape
    mirrors = []
    for x0, x1, top, bottom in _parts(obj):
        height = bottom - top + 1
        lo = max(top + 2, int(bottom - SEARCH_UP * height))
        hi = min(h - 4, int(np.ceil(bottom + SEARCH_DOWN * height)))
        depth = int((BAND + SEARCH_DOWN) * height)  # below the lowest line, the whole object's mirror image
        step = max(1, height // COARSE_ROWS)
        if hi <= lo or depth < 8 or x1 - x0 < 8:
            continue
        # A little margin either side: the reflection of the object's edges, with the ground beside it.
        pad = max(2, (x1 - x0) // 8)
        c0, c1 = max(0, x0 - pad), min(w, x1 + pad)
        r0, r1 = max(0, lo - depth - 1), min(h, hi + depth + 2)
        crop, part = frame[r0:r1, c0:c1], obj[r0:r1, c0:c1]
        lo, hi = lo - r0, hi - r0
        # Coarse: the smaller image is blurred by the averaging itself.
        size = (max(1, crop.shape[1] // step), crop.shape[0] // step)
        small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA).astype(np.float32).mean(axis=2)
        small_obj = cv2.resize(part.astype(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
        coarse = sorted(_line_scores(small, small_obj, range(2 * (lo // step), 2 * (hi // step) + 1, 2),
                                     depth // step, skip=1 if step > 1 else SKIP), reverse=True)[:COARSE_KEEP]
        if not coarse or coarse[0][0] < COARSE_NCC:
            continue
        gate = _detail_ncc(small, small_obj, coarse[0][1], depth // step, 1 if step > 1 else SKIP, DETAIL / step)
        if gate is None or gate[0] < COARSE_NCC:
            continue
        # Fine: half rows around the best coarse lines (the small image can mislead a little).
        rgb = cv2.GaussianBlur(crop.astype(np.float32), (0, 0), BLUR)
        grey = rgb.mean(axis=2)
        lines2 = set()
        for _, line2 in coarse:
            centre = line2 * step + step - 1  # twice the full-resolution row of the coarse line
            lines2.update(range(max(2 * lo, centre - 2 * step), min(2 * hi, centre + 2 * step) + 1))
        scores = _line_scores(grey, part, sorted(lines2), depth)
        if not scores:
            continue
        ncc, line2 = max(scores)
        fine = _detail_ncc(grey, part, line2, depth, SKIP, DETAIL)
        if fine is None or min(ncc, fine[0]) < MIN_NCC:
            continue
        ncc, below, take = min(ncc, fine[0]), fine[1], fine[2]
        a_img, b_img = rgb[below][take], rgb[line2 - below][take]
        if a_img.std() < MIN_STD or b_img.std() < MIN_STD:
            continue
        da, db = a_img - a_img.mean(axis=0), b_img - b_img.mean(axis=0)
        attenuation = float(np.clip((da * db).sum() / max((db * db).sum(), 1e-6), 0.0, 1.0))
        if attenuation < MIN_ATTENUATION:
            continue
        mirrors.append(Mirror(x0, x1, line2 + 2 * r0, attenuation, ncc))
    return mirrors


def carry_mirrors(previous: list[Mirror], obj: np.ndarray) -> list[Mirror]:
    """The mirrors of the previous frame, moved onto this frame's parts of ``obj`` that overlap them.

    A reflecting surface does not vanish between two frames; when the search misses it in one
    (the object turned its plainest side, a splash), keeping the last line and attenuation keeps
    the rebuilt water from flickering back to an invented fill.
    """
    carried = []
    for x0, x1, _, _ in _parts(obj):
        for m in previous:
            if min(x1, m.x1) > max(x0, m.x0):
                carried.append(dataclasses.replace(m, x0=x0, x1=x1))
                break
    return carried


def _columns(m: Mirror, width: int) -> tuple[int, int]:
    """Columns the reflection of ``m``'s part may reach: grown for its soft edges and the ripples."""
    pad = max(4, (m.x1 - m.x0) // 4)
    return max(0, m.x0 - pad), min(width, m.x1 + pad)


def mirror_band(mirrors: list[Mirror], shape: tuple[int, int]) -> np.ndarray:
    """Bool ``(H, W)``: where the reflections of ``mirrors`` may lie (below each line, in its columns)."""
    band = np.zeros(shape, bool)
    for m in mirrors:
        c0, c1 = _columns(m, shape[1])
        band[m.line2 // 2 + 1:, c0:c1] = True
    return band


def _ripple_flow(water: np.ndarray, mirrored: np.ndarray, attenuation: float) -> np.ndarray:
    """Where each pixel of ``water`` finds its reflection in ``mirrored`` (both float32 RGB, same
    shape): a flow ``(h, w, 2)``. Ripples bend a reflection by a few pixels, changing from one row to
    the next; without this the rebuilt reflection's edges would land beside the old ones.

    Block matching on short, wide windows (``RIPPLE_WINDOW``): for each shift within
    ``RIPPLE_REACH`` pixels the squared difference between the water and the shifted mirror image
    (scaled to the water's contrast) is box-filtered, and each pixel takes the best shift, refined
    to a fraction of a pixel by a parabola through its neighbours along x and along y.
    """
    gw = water.mean(axis=2)
    gm = mirrored.mean(axis=2) * attenuation
    gm += gw.mean() - gm.mean()
    rx, ry = RIPPLE_REACH
    h, w = gw.shape
    padded = cv2.copyMakeBorder(gm, ry, ry, rx, rx, cv2.BORDER_REPLICATE)
    shifts = [(dx, dy) for dy in range(-ry, ry + 1) for dx in range(-rx, rx + 1)]
    costs = np.empty((len(shifts), h, w), np.float32)
    for k, (dx, dy) in enumerate(shifts):
        moved = padded[ry + dy:ry + dy + h, rx + dx:rx + dx + w]
        costs[k] = cv2.boxFilter((gw - moved) ** 2, -1, RIPPLE_WINDOW, normalize=True)
    # Prefer small shifts: where the water is flat every shift fits alike, and its own texture
    # must not pull the reflection about.
    costs *= 1.0 + SHIFT_COST * np.abs(np.asarray(shifts, np.float32)).sum(axis=1)[:, None, None]
    best = costs.argmin(axis=0)
    flow = np.asarray(shifts, np.float32)[best]
    # Sub-pixel: a parabola through the costs one pixel either side, along x and along y.
    width = 2 * rx + 1
    col, row = best % width, best // width
    for axis, pos, size, step in ((0, col, width, 1), (1, row, 2 * ry + 1, width)):
        yy, xx = np.nonzero((pos > 0) & (pos < size - 1))
        k = best[yy, xx]
        c0, c1, c2 = costs[k - step, yy, xx], costs[k, yy, xx], costs[k + step, yy, xx]
        den = c0 - 2 * c1 + c2
        frac = np.where(den > 1e-6, 0.5 * (c0 - c2) / np.maximum(den, 1e-6), 0.0)
        flow[yy, xx, axis] += np.clip(frac, -0.5, 0.5)
    return flow


def mirror_fill(frame: np.ndarray, filled: np.ndarray, q: np.ndarray,
                mirrors: list[Mirror]) -> tuple[np.ndarray, np.ndarray]:
    """Rebuild the reflections of the removed object: ``(filled, q)`` with the water under each mirror corrected.

    ``frame`` is the input, ``filled`` the engine's output (both ``(H, W, 3) uint8``), ``q`` the
    quadmask the engine filled. The pixels below each line whose mirror image lies in the hole (give
    or take the ripples), and which are not the object itself, are rebuilt and marked AFFECTED in the
    returned quadmask; everything else is returned as it was.
    """
    if not mirrors:
        return filled, q
    h, w = q.shape
    hole = quadmask.hole(q)
    obj = quadmask.object_region(q)
    out, q = filled.copy(), q.copy()
    rx, ry = RIPPLE_REACH
    reach = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * rx + 1, 2 * ry + 1))
    for m in mirrors:
        first = m.line2 // 2 + 1
        ys = np.arange(first, min(h, m.line2 + 1))  # rows below the line that mirror a row of the frame
        if not len(ys):
            continue
        src = m.line2 - ys
        c0, c1 = _columns(m, w)
        source = hole[src, c0:c1]
        where = cv2.dilate(source.astype(np.uint8), reach).astype(bool) & ~obj[ys, c0:c1]
        if not where.any():
            continue
        rows = np.flatnonzero(where.any(axis=1))
        keep = slice(rows[0], rows[-1] + 1)
        ys, src, where, source = ys[keep], src[keep], where[keep], source[keep]
        water = frame[ys, c0:c1].astype(np.float32)
        mirrored = frame[src, c0:c1].astype(np.float32)
        delta = filled[src, c0:c1].astype(np.float32) - mirrored
        delta[~source] = 0.0
        if min(water.shape[:2]) >= 8:
            flow = _ripple_flow(water, mirrored, m.attenuation)
            gy, gx = np.mgrid[:len(ys), :c1 - c0].astype(np.float32)
            delta = cv2.remap(delta, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        rebuilt = water + m.attenuation * delta
        # Where the engine found the water itself (seen in another frame), its pixels agree with
        # the rebuilt reflection up to the ripples: keep them, real data beats a model. Where it
        # had to invent them they disagree, and outside the hole it never touched them: take the
        # rebuilt ones.
        engine = filled[ys, c0:c1].astype(np.float32)
        gap = cv2.GaussianBlur(np.abs(engine - rebuilt).max(axis=2), (0, 0), AGREE_SIGMA)
        trust = np.clip((gap - AGREE[0]) / (AGREE[1] - AGREE[0]), 0.0, 1.0)
        trust = np.where(hole[ys, c0:c1], trust, 1.0)[..., None]
        rebuilt = trust * rebuilt + (1 - trust) * engine
        block = out[ys, c0:c1]
        block[where] = np.clip(rebuilt[where] + 0.5, 0, 255).astype(np.uint8)
        out[ys, c0:c1] = block
        marks = q[ys, c0:c1]
        marks[where & (marks == quadmask.KEEP)] = quadmask.AFFECTED
        q[ys, c0:c1] = marks
    return out, q


__all__ = ["Mirror", "carry_mirrors", "find_mirrors", "mirror_band", "mirror_fill"]
