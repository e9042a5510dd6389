"""A robust temporal background: the per-pixel median of aligned frames, ignoring masked samples.

The median of a scene point over time is what it looks like most of the time; a shadow or
reflection that moves with the object covers any one point only for a while, so the median of the
samples outside the object is the unaffected background (as in background subtraction, e.g.
Piccardi 2004). Samples under the object, off the frame after alignment, or under a first
side-effect guess are left out.
"""

from __future__ import annotations

import cv2
import numpy as np


def masked_median(stack: np.ndarray, excluded: np.ndarray, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Median over time of ``stack`` ``(N, H, W, C) uint8`` where ``excluded`` ``(N, H, W)`` is False.

    Returns ``(median (H, W, C) float32, known (H, W) bool)``; ``known`` marks pixels with at least
    ``min_samples`` samples (elsewhere the median is meaningless).

    Excluded samples are replaced by 0 in even frames and 255 in odd ones, which leaves the median of
    the remaining samples in place when as many are replaced by each (half a rank off per sample of
    imbalance: exclusions come in runs of consecutive frames, so the imbalance is at most one or
    two), and the whole stack goes through one partial sort instead of a NaN-aware median.
    """
    n = stack.shape[0]
    count = n - excluded.sum(axis=0)
    filler = [np.zeros(stack.shape[1:], np.uint8), np.full(stack.shape[1:], 255, np.uint8)]
    samples = np.array(stack)  # a contiguous copy, filled frame by frame (cv2.copyTo: ~40x np.where here)
    for k in range(n):
        samples[k] = cv2.copyTo(filler[k % 2], np.ascontiguousarray(excluded[k]).view(np.uint8), samples[k])
    mid = n // 2
    if n % 2:
        median = np.partition(samples, mid, axis=0)[mid].astype(np.float32)
    else:
        part = np.partition(samples, (mid - 1, mid), axis=0)
        median = 0.5 * (part[mid - 1].astype(np.float32) + part[mid].astype(np.float32))
    return median, count >= min_samples
