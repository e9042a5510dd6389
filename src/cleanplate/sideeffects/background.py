"""A robust temporal background: the per-pixel median of aligned frames, ignoring masked samples.

The median of a scene point over time is what it looks like most of the time; a shadow or
reflection that moves with the object covers any one point only for a while, so the median of the
samples outside the object is the unaffected background (as in background subtraction, e.g.
Piccardi 2004). Samples under the object, off the frame after alignment, or under a first
side-effect guess are left out.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np


@functools.lru_cache(maxsize=None)
def selection_network(n: int, wanted: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Compare-exchange pairs ``(a, b)``, ``a < b``, that leave the ``wanted`` ranks of ``n`` values in place.

    Batcher's odd-even merge sort (Knuth, TAOCP vol. 3, 5.3.4) on the next power of two, without
    the comparators that reach past ``n`` (those values count as +inf: such a comparator never
    swaps) nor those that no wanted output depends on (followed back from the end).
    """
    size = 1
    while size < n:
        size *= 2
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < n:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    need, kept = set(wanted), []
    for a, b in reversed(pairs):
        if a in need or b in need:
            kept.append((a, b))
            need |= {a, b}
    return tuple(kept[::-1])


def masked_median(stack: np.ndarray, excluded: np.ndarray, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Median over time of ``stack`` ``(N, H, W, C) uint8`` where ``excluded`` ``(N, H, W)`` is False.

    Returns ``(median (H, W, C) float32, known (H, W) bool)``; ``known`` marks pixels with at least
    ``min_samples`` samples (elsewhere the median is meaningless).

    Excluded samples are replaced by 0 in even frames and 255 in odd ones, which leaves the median of
    the remaining samples in place when as many are replaced by each (half a rank off per sample of
    imbalance: exclusions come in runs of consecutive frames, so the imbalance is at most one or
    two). The middle rank(s) are then selected by a sorting network pruned to them
    (:func:`selection_network`): elementwise minima and maxima of whole uint8 frames, a tenth of
    the cost of a partial sort along the time axis, with the same result.
    """
    n = stack.shape[0]
    count = n - excluded.sum(axis=0)
    filler = [np.zeros(stack.shape[1:], np.uint8), np.full(stack.shape[1:], 255, np.uint8)]
    # each sample, with its excluded pixels filled (cv2.copyTo: ~40x np.where here)
    samples = [cv2.copyTo(filler[k % 2], np.ascontiguousarray(excluded[k]).view(np.uint8), stack[k].copy())
               for k in range(n)]
    mid = n // 2
    wanted = (mid,) if n % 2 else (mid - 1, mid)
    for a, b in selection_network(n, wanted):
        low = np.minimum(samples[a], samples[b])
        samples[b] = np.maximum(samples[a], samples[b])
        samples[a] = low
    if n % 2:
        median = samples[mid].astype(np.float32)
    else:
        median = 0.5 * (samples[mid - 1].astype(np.float32) + samples[mid].astype(np.float32))
    return median, count >= min_samples
