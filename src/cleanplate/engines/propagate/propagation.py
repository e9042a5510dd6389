"""Trace every hole pixel along completed flow to the frames where its spot is visible.

Sources are *coordinates*, not colours (as in Huang et al., "Temporally Coherent Completion of
Dynamic Video", SIGGRAPH Asia 2016, and the flow-guided propagation of Gao et al., ECCV 2020):
for each unknown pixel of frame ``i`` the pass finds ``(frame s, x, y)``, a sub-pixel position at
full resolution in the nearest frame ``s`` (in one direction of time) where that spot is known.
Each output pixel is then sampled once from a real frame, so repeated warping never blurs it.

The pass is a recurrence over the window: a pixel of frame ``i`` steps by the completed flow to
``q`` in the neighbouring frame; if ``q`` is known there, that is its source, otherwise it inherits
the source found for the pixel nearest ``q`` (shifted by the sub-pixel offset). A step is refused
where the forward and backward flows disagree by more than ``consistency`` working pixels (an
occlusion in the background). :func:`far_sources` then tries far frames of the window, aligned by
chained homographies, for pixels no chain reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from .flow import Scale, sample_points


class PairFlow(NamedTuple):
    """Completed flows of frames ``(t, t+1)`` at working size, and the forward homography."""

    forward: np.ndarray  # t -> t+1, (h, w, 2) float32
    backward: np.ndarray  # t+1 -> t
    homography: np.ndarray  # 3x3, working coordinates of t -> t+1


@dataclass
class Sources:
    """Where the unknown pixels of one frame are seen.

    ``pixels`` are flat indices into the frame; ``frame[k]`` is the window index of the frame that
    shows pixel ``k`` (-1: none found), at full-resolution position ``(x[k], y[k])``.
    """

    pixels: np.ndarray
    frame: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @classmethod
    def empty(cls, pixels: np.ndarray) -> "Sources":
        n = len(pixels)
        return cls(pixels, np.full(n, -1, np.int32), np.zeros(n, np.float32), np.zeros(n, np.float32))

    def found(self) -> np.ndarray:
        return self.frame >= 0


def trace(known: Sequence[np.ndarray], pixels: Sequence[np.ndarray], flows: Sequence[PairFlow], scale: Scale,
          from_past: bool, consistency: float, frames: Sequence[int] | None = None) -> dict[int, Sources]:
    """One propagation pass over a window.

    ``known[i]``: bool ``(H, W)``, pixels usable as sources; ``pixels[i]``: flat indices of the
    unknown pixels of frame ``i``; ``flows[t]``: the pair ``(t, t+1)``. With ``from_past`` each
    pixel looks back in time (frames ``0..i-1``), otherwise forward. ``frames``: the frames to
    trace, in the order of the pass (default: all); every frame between them and the source must
    be among them. Returns ``{i: Sources}``.
    """
    height, width = known[0].shape
    if frames is None:
        frames = range(len(known)) if from_past else range(len(known) - 1, -1, -1)
    index = np.full(height * width, -1, np.int64)  # position of a pixel in the previous frame's Sources
    results: dict[int, Sources] = {}
    prev: Sources | None = None
    prev_i = -1
    for i in frames:
        pix = pixels[i]
        out = Sources.empty(pix)
        neighbour = i - 1 if from_past else i + 1
        if prev is not None and neighbour == prev_i and len(pix):
            pair = flows[i - 1] if from_past else flows[i]
            step, back = (pair.backward, pair.forward) if from_past else (pair.forward, pair.backward)
            py, px = np.divmod(pix, width)
            u, v = scale.to_work(px, py)
            d = sample_points(step, u, v)
            qu, qv = u + d[:, 0], v + d[:, 1]
            e = sample_points(back, qu, qv) + d  # forward-backward mismatch
            ok = (e * e).sum(axis=1) <= consistency * consistency
            qx, qy = scale.to_full(qu, qv)
            ok &= (qx > -0.5) & (qx < width - 0.5) & (qy > -0.5) & (qy < height - 0.5)
            rx = np.clip(np.rint(qx), 0, width - 1).astype(np.int64)
            ry = np.clip(np.rint(qy), 0, height - 1).astype(np.int64)
            r = ry * width + rx
            seen = ok & known[neighbour].ravel()[r]
            out.frame[seen] = neighbour
            out.x[seen], out.y[seen] = qx[seen], qy[seen]
            chained = np.flatnonzero(ok & ~seen)
            k = index[r[chained]]
            good = k >= 0
            chained, k = chained[good], k[good]
            good = prev.frame[k] >= 0
            chained, k = chained[good], k[good]
            out.frame[chained] = prev.frame[k]
            out.x[chained] = prev.x[k] + (qx[chained] - rx[chained])
            out.y[chained] = prev.y[k] + (qy[chained] - ry[chained])
        results[i] = out
        if prev is not None:
            index[prev.pixels] = -1
        index[pix] = np.arange(len(pix))
        prev, prev_i = out, i
    return results


def chained_homographies(flows: Sequence[PairFlow], scale: Scale) -> list[np.ndarray]:
    """``A[i]``: 3x3 map from full-resolution coordinates of frame 0 to those of frame ``i``."""
    S = scale.matrix()
    S_inv = np.linalg.inv(S)
    chain = [np.eye(3)]
    for pair in flows:
        chain.append(S_inv @ pair.homography @ S @ chain[-1])
    return chain


def far_sources(known: Sequence[np.ndarray], chain: Sequence[np.ndarray], i: int, pixels: np.ndarray,
                count: int) -> Sources:
    """Sources for ``pixels`` of frame ``i`` in up to ``count`` far frames, aligned by homography.

    The candidates are spread evenly over the window and tried nearest first; each pixel takes the
    first one where its spot lies inside the frame and is known.
    """
    out = Sources.empty(pixels)
    n = len(known)
    if count <= 0 or not len(pixels) or n < 3:
        return out
    height, width = known[0].shape
    candidates = sorted({int(round(s)) for s in np.linspace(0, n - 1, count)} - {i - 1, i, i + 1},
                        key=lambda s: abs(s - i))
    py, px = np.divmod(pixels, width)
    points = np.stack([px, py, np.ones_like(px)]).astype(np.float64)
    inverse = np.linalg.inv(chain[i])
    todo = np.arange(len(pixels))
    for s in candidates:
        if not len(todo):
            break
        M = chain[s] @ inverse
        p = M @ points[:, todo]
        x, y = p[0] / p[2], p[1] / p[2]
        inside = (x > -0.5) & (x < width - 0.5) & (y > -0.5) & (y < height - 0.5)
        r = np.clip(np.rint(y), 0, height - 1).astype(np.int64) * width + np.clip(np.rint(x), 0, width - 1).astype(np.int64)
        hit = inside & known[s].ravel()[r]
        out.frame[todo[hit]] = s
        out.x[todo[hit]], out.y[todo[hit]] = x[hit], y[hit]
        todo = todo[~hit]
    return out


def chain_points(flows: Sequence[PairFlow], scale: Scale, i: int, j: int, x: np.ndarray, y: np.ndarray):
    """Follow completed flow from frame ``i`` to frame ``j``: full-resolution points in, points out."""
    u, v = scale.to_work(x, y)
    steps = range(i, j) if i < j else range(i - 1, j - 1, -1)
    for t in steps:
        d = sample_points(flows[t].forward if i < j else flows[t].backward, u, v)
        u, v = u + d[:, 0], v + d[:, 1]
    return scale.to_full(u, v)
