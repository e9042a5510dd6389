"""Stage 1: train the latent codec, a small Wan2.1-style causal video VAE (model kind ``wan-vae``).

A randomly initialised VAE's latents carry nothing, and a real Wan2.1 VAE is too large to train or
run on a CPU, so a small ``diffusers.AutoencoderKLWan`` is trained first on the same pairs, and the
DiT (stage 2, kind ``undereraser``) is trained on its latents with the VAE frozen.

The objective (:class:`AutoencoderWrapper`) is the beta-VAE loss of Kingma & Welling (2014) with a
small weight on the prior term: ``L = |x - D(z)|_1 + beta * KL(q(z|x) || N(0, I))``, ``z ~ q(z|x)``,
both terms means over elements, over the ground truth and the input (with its object) of every
clip, so the codec sees both clean plates and objects. The KL term keeps the latent
smooth and its scale bounded; the latent's per-channel mean and spread are measured afterwards
(:func:`latent_stats`) and stored in the VAE's config, so the DiT sees latents near N(0, 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AutoencoderLoss:
    """Weights of the stage-1 objective."""

    kl_weight: float = 1e-4  # beta
    l2_weight: float = 0.0  # an optional squared-error term beside the L1
    sample: bool = True  # decode z ~ q(z|x); False: decode the posterior mean
    crop: Optional[list] = None  # [height, width]: train on random crops of this size (cheaper steps)


def build_vae(config: dict | None = None, kl_weight: float = 1e-4, l2_weight: float = 0.0, sample: bool = True,
              crop: list | None = None, init: str | None = None, seed: int = 0):
    """``(AutoencoderKLWan, AutoencoderLoss)``; registered as model kind ``wan-vae``.

    ``config``: ``AutoencoderKLWan`` arguments (``base_dim``, ``z_dim``, ``dim_mult``,
    ``num_res_blocks``, ``temperal_downsample``, ``is_residual``...); ``init``: a VAE folder to start
    from instead. ``crop``: ``[height, width]`` of the random crops trained on (a multiple of the
    VAE's spatial factor; a convolutional codec learns the same from crops, at a fraction of the cost).
    """
    from diffusers import AutoencoderKLWan

    if init is not None:
        from .undereraser import load_vae

        return load_vae(init), AutoencoderLoss(kl_weight, l2_weight, sample, crop)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = AutoencoderKLWan(**(config or {}))
    return vae, AutoencoderLoss(kl_weight, l2_weight, sample, crop)


def random_crops(video: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """One random ``height x width`` window of each clip of ``video`` ``(B, C, T, H, W)`` (torch's RNG)."""
    b, _, _, h, w = video.shape
    if height > h or width > w:
        raise ValueError(f"crop {height}x{width} is larger than the clips ({h}x{w})")
    ys = torch.randint(0, h - height + 1, (b,)).tolist()
    xs = torch.randint(0, w - width + 1, (b,)).tolist()
    return torch.stack([v[..., y:y + height, x:x + width] for v, y, x in zip(video, ys, xs)])


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mean, exp(logvar)) || N(0, 1))`` per element, averaged."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()


class AutoencoderWrapper(nn.Module):
    """The stage-1 objective around a VAE; the trainer's interface (``denoiser`` is the trained module)."""

    parts = ("loss", "recon", "kl")

    def __init__(self, vae: nn.Module, loss: AutoencoderLoss):
        super().__init__()
        self.denoiser = vae  # the trained module, under the name the trainer and its checkpoints use
        self.settings = loss
        self.head = None

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.denoiser.parameters() if p.requires_grad]

    def loss(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(L, {"loss", "recon", "kl"})`` over the ground truth and the input of every clip of the
        torch batch, each cut to its own random crop when ``crop`` is set."""
        video = torch.cat([batch["gt"], batch["input"]])
        if self.settings.crop:
            video = random_crops(video, *self.settings.crop)
        posterior = self.denoiser.encode(video).latent_dist
        z = posterior.mean + posterior.std * torch.randn_like(posterior.mean) if self.settings.sample else posterior.mean
        recon = self.denoiser.decode(z).sample
        l1 = (recon.float() - video).abs().mean()
        kl = gaussian_kl(posterior.mean.float(), posterior.logvar.float())
        loss = l1 + self.settings.kl_weight * kl
        if self.settings.l2_weight:
            loss = loss + self.settings.l2_weight * F.mse_loss(recon.float(), video)
        parts = {"loss": loss, "recon": l1, "kl": kl}
        return loss, {k: v.detach() for k, v in parts.items()}


@torch.no_grad()
def latent_stats(vae: nn.Module, videos) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of ``vae``'s latents (the posterior means) over ``videos``,
    an iterable of ``(B, 3, T, H, W)`` tensors in [-1, 1]."""
    total = total_sq = None
    count = 0
    for video in videos:
        z = vae.encode(video).latent_dist.mode().double()
        flat = z.transpose(0, 1).reshape(z.shape[1], -1)
        total = flat.sum(1) if total is None else total + flat.sum(1)
        total_sq = flat.pow(2).sum(1) if total_sq is None else total_sq + flat.pow(2).sum(1)
        count += flat.shape[1]
    mean = total / count
    std = (total_sq / count - mean.pow(2)).clamp_min(1e-12).sqrt()
    return mean.tolist(), std.tolist()
