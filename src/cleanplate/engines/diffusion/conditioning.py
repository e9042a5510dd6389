"""What the transformer is conditioned on: latents, folded masks and the masked video.

The transformer's input channels follow Wan2.1-Fun-InP, with the quadmask's extra level appended:

======  ========  ===============================================================================
 ch      count     content
======  ========  ===============================================================================
 0-15    16        the noisy latent being denoised
 16-19   4         *known* mask (1 = keep, 0 = hole), folded by the VAE's 4x temporal compression
 20-35   16        latent of the masked video ``V * (1 - M)`` (hole pixels set to 0, mid grey)
 36-39   4         *affected* mask (1 = shadow/reflection/light of the object), folded the same way
======  ========  ===============================================================================

Channels 0-35 are exactly a Fun-InP (or Wan2.1-I2V) transformer's 36 inputs, so a real checkpoint
loads with the patch embedding's 4 extra input channels zero-initialised: it then inpaints the whole
hole, object and side effects alike, and ignores the REMOVE/AFFECTED distinction until fine-tuned.
The hole ``M`` is every non-KEEP quadmask pixel (REMOVE, OVERLAP, AFFECTED); REMOVE pixels are
those in ``M`` but not in the affected channel.

Folding (Wan2.1-I2V / Fun-InP): the VAE turns ``1 + 4k`` frames into ``1 + k`` latent frames, the
first latent frame holding frame 0 alone. The mask's first frame is repeated 4 times, the ``4 + 4k``
frames are grouped by 4 into the channel axis, and each group is area-averaged to the latent grid.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ... import quadmask

TEMPORAL = 4  # Wan2.1 VAE: 4x in time
SPATIAL = 8  # and 8x in space
CONDITION_CHANNELS = 4 + 16 + 4


def vae_length(num_frames: int) -> int:
    """The smallest ``1 + 4k >= num_frames``: the frame counts the Wan VAE encodes."""
    return 1 + TEMPORAL * max(0, -(-(num_frames - 1) // TEMPORAL))


def latent_length(num_frames: int) -> int:
    """Latent frames for ``num_frames`` pixel frames (after padding to :func:`vae_length`)."""
    return (vae_length(num_frames) - 1) // TEMPORAL + 1


def pad_frames(array: np.ndarray, length: int) -> np.ndarray:
    """Repeat the last frame of ``array`` (frames first) until it holds ``length`` frames."""
    if len(array) >= length:
        return array[:length]
    tail = np.repeat(array[-1:], length - len(array), axis=0)
    return np.concatenate([array, tail], axis=0)


def frames_to_tensor(frames: np.ndarray, device=None, dtype=torch.float32) -> torch.Tensor:
    """``(T, H, W, 3) uint8 RGB`` -> ``(1, 3, T, H, W)`` in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device=device)
    return (x.permute(3, 0, 1, 2).unsqueeze(0).to(dtype) / 127.5 - 1.0)


def tensor_to_frames(video: torch.Tensor) -> np.ndarray:
    """``(1, 3, T, H, W)`` in [-1, 1] -> ``(T, H, W, 3) uint8 RGB``."""
    x = ((video[0].float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 3, 0).cpu().numpy()


def fold_mask(mask: torch.Tensor, latent_size: tuple[int, int]) -> torch.Tensor:
    """Fold a per-frame mask ``(B, 1, 1 + 4k, H, W)`` into ``(B, 4, 1 + k, h, w)`` (see module doc)."""
    b, _, t, _, _ = mask.shape
    if (t - 1) % TEMPORAL:
        raise ValueError(f"mask has {t} frames; fold needs 1 + 4k")
    first = mask[:, :, :1].expand(-1, -1, TEMPORAL, -1, -1)
    seq = torch.cat([first, mask[:, :, 1:]], dim=2)  # (B, 1, 4 + 4k, H, W)
    groups = seq.reshape(b, (t + TEMPORAL - 1) // TEMPORAL, TEMPORAL, *mask.shape[-2:])
    groups = groups.transpose(1, 2)  # (B, 4, 1 + k, H, W)
    lat = groups.shape[2]
    small = F.interpolate(groups.flatten(1, 2), size=latent_size, mode="area")
    return small.reshape(b, TEMPORAL, lat, *latent_size)


def mask_tensors(masks: np.ndarray, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Quadmasks ``(T, H, W) uint8`` -> ``(known, affected)``, each ``(1, 1, T, H, W)`` float 0/1."""
    known = torch.from_numpy(~quadmask.hole(masks)).to(device=device, dtype=torch.float32)
    affected = torch.from_numpy(quadmask.affected_region(masks)).to(device=device, dtype=torch.float32)
    return known[None, None], affected[None, None]


def masked_video(video: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """``V * (1 - M)``: the video in [-1, 1] with hole pixels set to 0 (mid grey)."""
    return video * known.to(video.dtype)


def build_condition(masked_latent: torch.Tensor, known: torch.Tensor, affected: torch.Tensor) -> torch.Tensor:
    """The 24 conditioning channels ``[known fold (4), masked latent (16), affected fold (4)]``."""
    size = tuple(masked_latent.shape[-2:])
    dtype = masked_latent.dtype
    return torch.cat([fold_mask(known, size).to(dtype), masked_latent, fold_mask(affected, size).to(dtype)], dim=1)
