"""Put an engine's fill back into the original frame, inside the hole only."""

from __future__ import annotations

import numpy as np

from . import quadmask


def composite(original: np.ndarray, filled: np.ndarray, mask: np.ndarray, feather: int) -> np.ndarray:
    """Blend ``filled`` into ``original`` where ``mask`` (a quadmask) is not KEEP.

    The blend weight ramps from 0 at the hole's edge to 1 ``feather`` pixels inside it, so every
    pixel outside the hole is returned bit-exact. Frames ``(H, W, 3) uint8``, mask ``(H, W) uint8``.
    """
    region = quadmask.hole(mask)
    if not region.any():
        return original
    alpha = quadmask.feather_alpha(region, feather)
    out = original.copy()
    ys, xs = np.nonzero(region)
    a = alpha[ys, xs, None]
    blended = a * filled[ys, xs].astype(np.float32) + (1.0 - a) * original[ys, xs].astype(np.float32)
    out[ys, xs] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out


def replaced_region(mask: np.ndarray) -> np.ndarray:
    """Bool ``(H, W)``: the pixels :func:`composite` may change for this quadmask."""
    return quadmask.hole(mask)
