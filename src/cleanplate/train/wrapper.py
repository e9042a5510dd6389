"""The model wrapper that owns the training objective: ``loss(batch) -> (loss, parts)``.

``L = L_fm + lambda * L_oird`` (UnderEraser, eqs. 5 and 4):

- ``L_fm``, rectified flow matching on latents of the ground-truth video: ``x0 = E(V_gt)``,
  ``eps ~ N(0, I)``, ``t ~ p(t)``, ``x_t = (1 - t) x0 + t eps``, target ``v = eps - x0``,
  ``L_fm = || v_theta(x_t, t, cond) - v ||^2`` (mean over elements), ``cond`` built by the codec from
  the masked input, the mask channels and the framewise context.
- ``L_oird``: the relation distillation of :mod:`cleanplate.train.oird`, between the denoiser's
  hidden state at ``oird.block`` and the frozen teacher's features on ``V_ori`` through a trainable
  MLP, over (object token, side-effect token) pairs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError
from .config import OIRDConfig
from .grid import mask_to_tokens
from .oird import TeacherHead, relation_loss
from .teacher import teacher_tokens


def to_torch(batch: dict, device: torch.device | str) -> dict:
    """A numpy batch (:func:`cleanplate.train.data.collate`) -> tensors on ``device``:
    ``input``/``gt`` ``(B, 3, T, H, W)`` float32 in [-1, 1]; ``mask``/``side`` ``(B, T, H, W)`` bool;
    ``quadmask`` ``(B, T, H, W)`` uint8; ``stride`` ``(B,)`` int64."""
    out = {}
    for key, value in batch.items():
        tensor = torch.from_numpy(np.ascontiguousarray(value)).to(device)
        if key in ("input", "gt"):
            tensor = tensor.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)
        out[key] = tensor
    return out


class FlowMatchingWrapper(nn.Module):
    """Denoiser + frozen codec + (optional) frozen teacher and its trainable head.

    ``timesteps``: ``"uniform"`` draws ``t ~ U(0, 1)``; ``"logit_normal"`` draws
    ``t = sigmoid(n), n ~ N(0, 1)`` (more weight on mid-noise levels, as in SD3).
    """

    parts = ("loss", "flow", "oird")  # what loss() reports, in the log and its plot

    def __init__(self, denoiser: nn.Module, codec, oird: OIRDConfig, teacher: nn.Module | None = None,
                 timesteps: str = "uniform"):
        super().__init__()
        self.denoiser = denoiser
        self.codec = codec
        self.timesteps = timesteps
        self.oird_weight = oird.weight
        self.teacher = None
        self.head = None
        self._hidden = None
        if oird.weight > 0:
            if teacher is None:
                raise ValueError("OIRD needs a teacher (oird.weight > 0)")
            blocks = denoiser.blocks
            self.block = len(blocks) // 2 if oird.block is None else oird.block
            if not 0 <= self.block < len(blocks):
                raise InputError(f"oird.block={oird.block}", f"is outside the denoiser's {len(blocks)} blocks",
                                 f"use 0 to {len(blocks) - 1}, or null for half depth")
            self.teacher = teacher.requires_grad_(False)
            self.head = TeacherHead(teacher.dim, oird.head_dim)
            blocks[self.block].register_forward_hook(self._keep_hidden)

    def _keep_hidden(self, module, args, output) -> None:
        self._hidden = output[0] if isinstance(output, tuple) else output

    def trainable_parameters(self) -> list[nn.Parameter]:
        modules = [self.denoiser] + ([self.head] if self.head is not None else [])
        return [p for m in modules for p in m.parameters() if p.requires_grad]

    def draw_t(self, n: int, device) -> torch.Tensor:
        if self.timesteps == "logit_normal":
            return torch.sigmoid(torch.randn(n, device=device))
        return torch.rand(n, device=device)

    def loss(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(L, {"loss", "flow", "oird"})`` for a torch batch (:func:`to_torch`)."""
        with torch.no_grad():
            x0 = self.codec.encode(batch["gt"])
            cond = self.codec.condition(batch)
        noise = torch.randn_like(x0)
        t = self.draw_t(x0.shape[0], x0.device)
        tt = t.view(-1, *([1] * (x0.ndim - 1)))
        x_t = (1 - tt) * x0 + tt * noise
        velocity = self.denoiser(x_t, t, cond)
        flow = F.mse_loss(velocity.float(), (noise - x0).float())
        parts = {"flow": flow}
        loss = flow
        if self.head is not None:
            parts["oird"] = self._oird(batch, x0.shape)
            loss = loss + self.oird_weight * parts["oird"]
        parts["loss"] = loss
        return loss, {k: v.detach() for k, v in parts.items()}

    def _oird(self, batch: dict, latent_shape) -> torch.Tensor:
        grid = tuple(self.denoiser.token_grid(latent_shape))
        hidden, self._hidden = self._hidden, None
        b = hidden.shape[0]
        student = hidden.reshape(b, grid[0], grid[1] * grid[2], -1)
        obj = mask_to_tokens(batch["mask"], grid)
        side = mask_to_tokens(batch["side"], grid) & ~obj
        if not (obj.any(-1) & side.any(-1)).any():
            return student.new_zeros((), dtype=torch.float32)
        teacher = self.head(teacher_tokens(self.teacher, batch["input"], grid))
        return relation_loss(student, teacher, obj, side)
