"""The frozen teacher whose token relations OIRD distils (UnderEraser, sec. 3.3).

``load_teacher(path)`` gives DINOv2 loaded through transformers from a local folder
(``Dinov2Model`` / ``AutoModel.from_pretrained(path, local_files_only=True)``; nothing is
downloaded), or, with no path, :class:`ColourGradientTeacher`: fixed hand-made features.

The fallback is honest about what it is: it relates tokens by colour, contrast and edge statistics
at two scales. A shadow token relates to the object only as far as they look alike, so it carries
none of the semantic knowledge (what casts what) that makes DINOv2 a useful teacher. It lets the
whole machinery run without weights; for real training give a DINOv2 folder or set
``oird.weight: 0``.

A teacher maps frames ``(N, 3, H, W)`` float in [0, 1] and a token grid ``(h, w)`` to features
``(N, h * w, dim)``, tokens in row-major order.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from .grid import pool_time

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ColourGradientTeacher(nn.Module):
    """Fixed features, no weights: per token, mean and spread of R, G, B and mean absolute
    horizontal/vertical luminance gradient (8 values), the same averaged over the 3x3 tokens around
    it (8 more), each standardised over the frame's tokens so cosine similarities are centred."""

    name = "colour-gradient"
    dim = 16
    pixels = 8  # pixels a token side, after resizing the frame to the grid

    def forward(self, frames: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        h, w = grid
        p = self.pixels
        x = F.interpolate(frames.float(), (h * p, w * p), mode="area")
        lum = (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        gx = F.pad((lum[..., :, 1:] - lum[..., :, :-1]).abs(), (0, 1))
        gy = F.pad((lum[..., 1:, :] - lum[..., :-1, :]).abs(), (0, 0, 0, 1))
        mean = F.avg_pool2d(x, p)
        spread = (F.avg_pool2d(x * x, p) - mean * mean).clamp_min(0).sqrt()
        local = torch.cat([mean, spread, F.avg_pool2d(gx, p), F.avg_pool2d(gy, p)], 1)  # (N, 8, h, w)
        around = F.avg_pool2d(local, 3, stride=1, padding=1, count_include_pad=False)
        feats = torch.cat([local, around], 1).flatten(2).transpose(1, 2)  # (N, h*w, 16)
        return (feats - feats.mean(1, keepdim=True)) / (feats.std(1, keepdim=True) + 1e-6)


class DinoTeacher(nn.Module):
    """DINOv2's last hidden state at the patch tokens, the frame resized so patches = tokens."""

    def __init__(self, model: nn.Module, name: str = "dinov2"):
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        config = model.config
        self.patch = int(config.patch_size)
        self.prefix = 1 + int(getattr(config, "num_register_tokens", 0) or 0)  # CLS (+ registers)
        self.dim = int(config.hidden_size)
        self.name = name
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "DinoTeacher":
        return super().train(False)  # always frozen, always in eval mode

    def forward(self, frames: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        h, w = grid
        x = F.interpolate(frames.float(), (h * self.patch, w * self.patch), mode="bilinear",
                          align_corners=False, antialias=True)
        x = ((x - self.mean) / self.std).to(next(self.model.parameters()).dtype)
        out = self.model(pixel_values=x).last_hidden_state[:, self.prefix:]
        if out.shape[1] != h * w:
            raise ValueError(f"DINOv2 gave {out.shape[1]} patch tokens for a {h}x{w} grid")
        return out


def load_teacher(path: str | os.PathLike | None) -> nn.Module:
    """DINOv2 from a local folder, or the colour/gradient fallback when ``path`` is None."""
    if path is None:
        log.info("OIRD teacher: built-in colour/gradient features (no DINOv2 folder given)")
        return ColourGradientTeacher()
    folder = Path(path)
    fix = ("give a local DINOv2 folder (e.g. a saved facebook/dinov2-base) or leave oird.teacher empty "
           "for the colour/gradient fallback")
    if not (folder / "config.json").is_file():
        raise InputError(f"oird.teacher={str(path)!r}", "is not a model folder with a config.json", fix)
    from transformers import AutoModel

    try:
        model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError) as err:
        raise InputError(f"oird.teacher={str(path)!r}", f"cannot be loaded ({str(err).splitlines()[0]})", fix) from None
    if not hasattr(model.config, "patch_size") or not model.config.model_type.startswith("dinov2"):
        raise InputError(f"oird.teacher={str(path)!r}", f"is a {model.config.model_type} model, not DINOv2", fix)
    log.info("OIRD teacher: %s from %s", model.config.model_type, folder)
    return DinoTeacher(model, name=f"{model.config.model_type}:{folder}")


@torch.no_grad()
def teacher_tokens(teacher: nn.Module, video: torch.Tensor, grid: tuple[int, int, int], chunk: int = 16) -> torch.Tensor:
    """Teacher features on the token grid: video ``(B, 3, T, H, W)`` in [-1, 1] -> ``(B, F, h*w, C)``.

    Each frame is seen by the teacher; a latent frame's features are the mean over its frames.
    Frames go through ``chunk`` at a time (memory grows with ``chunk``, not with ``T``).
    """
    f, h, w = grid
    b, _, t = video.shape[:3]
    frames = ((video.transpose(1, 2).flatten(0, 1) + 1) / 2).clamp(0, 1)  # (B*T, 3, H, W)
    feats = torch.cat([teacher(frames[i:i + chunk], (h, w)).float() for i in range(0, len(frames), chunk)])
    return pool_time(feats.reshape(b, t, h * w, -1), f, dim=1)
