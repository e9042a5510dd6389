"""From pixels to the token grid: which frames sit behind each latent frame, and pooling to it.

A Wan2.1-style VAE compresses time causally: frame 0 alone, then groups of 4, so ``T = 1 + 4k``
frames give ``1 + k`` latent frames; the DiT's patch embedding then makes one token per
``(latent frame, patch row, patch column)``, flattened in that row-major order. Masks and teacher
features must be brought onto that grid to be compared with the DiT's hidden states.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def frame_groups(num_frames: int, num_latent: int) -> list[tuple[int, int]]:
    """Frame ranges ``[start, stop)`` behind each latent frame.

    Causal grouping when ``num_frames = 1 + r * (num_latent - 1)`` (frame 0 alone, then groups of
    ``r``), else equal groups when ``num_latent`` divides ``num_frames``.
    """
    if num_latent == num_frames:
        return [(i, i + 1) for i in range(num_frames)]
    if num_latent > 1 and (num_frames - 1) % (num_latent - 1) == 0:
        r = (num_frames - 1) // (num_latent - 1)
        return [(0, 1)] + [(1 + r * i, 1 + r * (i + 1)) for i in range(num_latent - 1)]
    if num_frames % num_latent == 0:
        r = num_frames // num_latent
        return [(r * i, r * (i + 1)) for i in range(num_latent)]
    raise ValueError(f"cannot group {num_frames} frames into {num_latent} latent frames")


def pool_time(x: torch.Tensor, num_latent: int, dim: int = 2, reduce: str = "mean") -> torch.Tensor:
    """Mean (or ``reduce="max"``) over each frame group along ``dim``: ``T`` -> ``num_latent``."""
    groups = frame_groups(x.shape[dim], num_latent)
    parts = [x.narrow(dim, a, b - a) for a, b in groups]
    if reduce == "max":
        return torch.stack([p.amax(dim) for p in parts], dim)
    return torch.stack([p.mean(dim) for p in parts], dim)


def mask_to_tokens(mask: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """A pixel mask ``(B, T, H, W) bool`` -> token mask ``(B, F, h * w) bool`` on ``grid = (F, h, w)``.

    A token is marked when any pixel behind it (in any frame of its group) is marked, so thin
    shadows and small objects survive the downsampling.
    """
    f, h, w = grid
    b = mask.shape[0]
    x = pool_time(mask.float(), f, dim=1, reduce="max")  # (B, F, H, W)
    x = F.adaptive_max_pool2d(x.reshape(b * f, 1, *x.shape[-2:]), (h, w))
    return x.reshape(b, f, h * w) > 0.5
