"""Sample each hole pixel's sources from real frames and blend them.

Each source is read once, with bilinear interpolation, from the frame it points into at native
resolution. The candidates found looking back and looking forward in time are blended with weights
``1 / distance**power`` (distance in frames, as in the temporal blending of FGVC, Gao et al. 2020),
so the weight changes smoothly across the hole and no seam shows where one source takes over.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .flow import sample_points
from .propagation import Sources


def sample_sources(images: Sequence[np.ndarray], frame: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Colours ``(n, 3) float32`` at ``(x, y)`` of ``images[frame]``; rows with ``frame < 0`` stay 0."""
    colours = np.zeros((len(frame), 3), np.float32)
    order = np.argsort(frame, kind="stable")
    counts = np.bincount(frame[order] + 1, minlength=1)
    start = counts[0]  # skip frame -1
    for s, count in enumerate(counts[1:]):
        if count:
            rows = order[start:start + count]
            colours[rows] = sample_points(images[s], x[rows], y[rows])
            start += count
    return colours


def blend_candidates(images: Sequence[np.ndarray], i: int, candidates: Sequence[Sources],
                     power: float) -> tuple[np.ndarray, np.ndarray]:
    """Blend ``candidates`` (Sources of frame ``i`` over the same pixels) by temporal distance.

    Returns ``(colours (n, 3) float32, found (n,) bool)``.
    """
    n = len(candidates[0].pixels)
    frame = np.concatenate([c.frame for c in candidates])
    x = np.concatenate([c.x for c in candidates])
    y = np.concatenate([c.y for c in candidates])
    samples = sample_sources(images, frame, x, y).reshape(len(candidates), n, 3)
    distance = np.abs(frame - i).astype(np.float32).reshape(len(candidates), n)
    weight = np.where(frame.reshape(len(candidates), n) >= 0, np.maximum(distance, 1.0) ** -power, 0.0)
    total = weight.sum(axis=0)
    found = total > 0
    colours = (weight[..., None] * samples).sum(axis=0) / np.where(found, total, 1.0)[:, None]
    return colours.astype(np.float32), found
