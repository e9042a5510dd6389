"""The toy problem: tiny clips, a tiny codec and a tiny denoiser that honour the training contract.

They make ``cleanplate train toy`` and the tests run in seconds on a CPU, and they show what a real
model must provide (see :mod:`cleanplate.train.models`):

- :class:`ToyPairs`, a data source: a square crossing a smooth textured background, casting a
  shadow (its side effect) a few pixels down and right; the ground truth is the background alone.
- :class:`ToyCodec`, the frozen "VAE": 4x4 average pooling in space and Wan-style causal 4x
  grouping in time (frame 0 alone, then groups of 4), so ``T = 1 + 4k`` frames give ``1 + k``
  latent frames; and the conditioning: latents of the masked input plus the object and
  side-effect fractions of each latent pixel.
- :class:`ToyDenoiser`, the trainable velocity model: two pre-norm transformer blocks over one
  token per latent pixel, exposing them as ``blocks`` so OIRD can read a block's hidden state.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import quadmask
from .grid import pool_time


class ToyPairs:
    """Endless seeded pairs: sample ``index`` is always the same clip.

    Raw sample layout: ``input``/``gt`` ``(T, H, W, 3) uint8``, ``mask``/``side`` ``(T, H, W) bool``.
    """

    def __init__(self, frames: int = 9, height: int = 32, width: int = 32, seed: int = 0,
                 square: int = 8, shadow: int = 3):
        self.frames, self.height, self.width = frames, height, width
        self.seed, self.square, self.shadow = seed, square, shadow

    def read(self, index: int, rng: np.random.Generator | None = None) -> dict:
        g = np.random.default_rng([self.seed, index])
        t, h, w, s = self.frames, self.height, self.width, self.square
        coarse = g.integers(0, 256, (h // 4 + 2, w // 4 + 2, 3)).astype(np.uint8)
        background = cv2.resize(coarse, (w + 8, h + 8), interpolation=cv2.INTER_CUBIC)[:h, :w]
        gt = np.repeat(background[None], t, axis=0)
        video = gt.copy()
        obj = np.zeros((t, h, w), bool)
        shade = np.zeros((t, h, w), bool)
        colour = g.integers(0, 256, 3).astype(np.uint8)
        x0, x1 = g.integers(0, w - s - self.shadow, 2)
        y = int(g.integers(0, h - s - self.shadow))
        for i in range(t):
            x = int(round(x0 + (x1 - x0) * i / max(t - 1, 1)))
            d = self.shadow
            shade[i, y + d:y + d + s, x + d:x + d + s] = True
            obj[i, y:y + s, x:x + s] = True
        shade &= ~obj
        video[shade] = (video[shade] * 0.45).astype(np.uint8)
        video[obj] = colour
        return {"input": video, "gt": gt, "mask": obj, "side": shade}


class ToyCodec:
    """Frozen toy "VAE" and conditioner. Video ``(B, 3, T, H, W)`` in [-1, 1] ->
    latents ``(B, 3, 1 + (T - 1) // 4, H / 4, W / 4)``."""

    latent_channels = 3
    cond_channels = 5
    spatial = 4
    temporal = 4

    def latent_frames(self, num_frames: int) -> int:
        return 1 + (num_frames - 1) // self.temporal

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        x = pool_time(x, self.latent_frames(x.shape[2]))
        b, c, f, h, w = x.shape
        flat = F.avg_pool2d(x.transpose(1, 2).reshape(b * f, c, h, w), self.spatial)
        return flat.reshape(b, f, c, h // self.spatial, w // self.spatial).transpose(1, 2)

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Video ``(B, 3, T, H, W)`` float in [-1, 1] -> latents."""
        return self._pool(video)

    def condition(self, batch: dict) -> torch.Tensor:
        """Latents of the masked input and the object/side-effect fraction of each latent pixel."""
        q = batch["quadmask"]
        masked = batch["input"].masked_fill(quadmask.hole(q).unsqueeze(1), 0.0)
        obj = quadmask.object_region(q).unsqueeze(1).float()
        affected = quadmask.affected_region(q).unsqueeze(1).float()
        return torch.cat([self.encode(masked), self._pool(obj), self._pool(affected)], 1)


class ToyDenoiser(nn.Module):
    """A 2-block transformer velocity model: ``forward(x_t, t, cond) -> v``, one token a latent pixel.

    ``x_t``: ``(B, C, F, h, w)``; ``t``: ``(B,)`` in [0, 1]; ``cond``: ``(B, C_cond, F, h, w)``.
    """

    def __init__(self, latent_channels: int = 3, cond_channels: int = 5, dim: int = 32, depth: int = 2,
                 heads: int = 2):
        super().__init__()
        self.proj_in = nn.Linear(latent_channels + cond_channels, dim)
        self.time = nn.Sequential(nn.Linear(1, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.proj_out = nn.Linear(dim, latent_channels)

    def token_grid(self, latent_shape) -> tuple[int, int, int]:
        """``(F, h, w)``: the tokens of the hidden states, in that row-major order."""
        return tuple(latent_shape[2:5])

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = x_t.shape
        tokens = torch.cat([x_t, cond], 1).flatten(2).transpose(1, 2)
        x = self.proj_in(tokens) + self.time(t.reshape(b, 1, 1).to(tokens.dtype))
        for block in self.blocks:
            x = block(x)
        v = self.proj_out(self.norm(x))
        return v.transpose(1, 2).reshape(b, c, f, h, w)


def build_toy(dim: int = 32, depth: int = 2, heads: int = 2):
    """The toy ``(denoiser, codec)`` pair; registered as model kind ``toy``."""
    codec = ToyCodec()
    return ToyDenoiser(codec.latent_channels, codec.cond_channels, dim, depth, heads), codec
