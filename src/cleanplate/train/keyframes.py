"""Keyframe training (UnderEraser, sec. 3.4).

At inference the engine first completes a few keyframes and then fills the rest of the clip with
those keyframes shown as known frames. Training teaches that: each clip draws a stride
``n`` in ``{min_stride, ..., max_stride}`` and every n-th frame (0, n, 2n, ...) of the input is
replaced by its ground truth, with its mask set to zero there (quadmask KEEP, nothing to remove).
"""

from __future__ import annotations

import numpy as np

from .. import quadmask


def keyframe_indices(num_frames: int, stride: int) -> np.ndarray:
    """Indices of the keyframes of a ``num_frames`` clip: ``0, stride, 2*stride, ...``."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    return np.arange(0, num_frames, stride)


def draw_stride(rng: np.random.Generator, min_stride: int = 2, max_stride: int = 10,
                probability: float = 1.0) -> int:
    """A stride drawn uniformly from ``{min_stride, ..., max_stride}``; 0 (no keyframes) with
    chance ``1 - probability``."""
    if rng.random() >= probability:
        return 0
    return int(rng.integers(min_stride, max_stride + 1))


def replace_keyframes(sample: dict, stride: int) -> dict:
    """Show ground truth at every ``stride``-th frame, with a zero mask there.

    ``sample`` holds ``input``/``gt`` ``(T, H, W, 3) uint8``, ``mask``/``side`` ``(T, H, W) bool``
    and ``quadmask`` ``(T, H, W) uint8``. Returns a new dict; ``stride == 0`` returns copies
    unchanged. At the keyframes ``input == gt``, ``quadmask == KEEP`` and both bool masks are False.
    """
    out = {key: np.array(value, copy=True) if isinstance(value, np.ndarray) else value
           for key, value in sample.items()}
    out["stride"] = stride
    if stride == 0:
        return out
    idx = keyframe_indices(len(out["input"]), stride)
    out["input"][idx] = out["gt"][idx]
    out["quadmask"][idx] = quadmask.KEEP
    out["mask"][idx] = False
    out["side"][idx] = False
    return out
