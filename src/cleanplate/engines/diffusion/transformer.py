"""The denoiser: diffusers' ``WanTransformer3DModel`` with framewise context cross-attention.

The parameters are exactly a Wan2.1-I2V / Fun-InP transformer's (``self.wan``), so its weights load
unchanged and ours save as a diffusers transformer folder. Only the cross-attention processors are
swapped (:class:`~.context.FramewiseCrossAttnProcessor`) and the forward is written out here, block
by block, so that it can also return the hidden state of one block (for OIRD feature distillation)
and run under autograd with gradient checkpointing (for training).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .context import FramewiseCrossAttnProcessor


class UnderEraserTransformer(nn.Module):
    """Predicts the flow-matching velocity ``v = noise - x0`` of a video latent.

    Args:
        wan: a ``diffusers.WanTransformer3DModel`` with ``in_channels = 16 + condition channels``
            and an image branch (``image_dim`` and ``added_kv_proj_dim`` set).
        text_len: number of text tokens the blocks receive (512 in Wan2.1).
        tokens_per_frame: context tokens per latent frame (257 for CLIP ViT-H/14).
    """

    def __init__(self, wan, text_len: int, tokens_per_frame: int):
        super().__init__()
        if wan.condition_embedder.image_embedder is None or wan.blocks[0].attn2.add_k_proj is None:
            raise ValueError("the transformer has no context branch (image_dim / added_kv_proj_dim unset)")
        self.wan = wan
        self.text_len = text_len
        self.tokens_per_frame = tokens_per_frame
        self.gradient_checkpointing = False
        for block in wan.blocks:
            block.attn2.set_processor(FramewiseCrossAttnProcessor(text_len, tokens_per_frame))

    @property
    def config(self):
        return self.wan.config

    @property
    def dtype(self) -> torch.dtype:
        return self.wan.patch_embedding.weight.dtype

    def forward(
        self,
        latents: torch.Tensor,
        timestep: torch.Tensor,
        condition: torch.Tensor,
        context: torch.Tensor,
        text: torch.Tensor,
        return_hidden_at: int | None = None,
    ):
        """Velocity ``(B, 16, F, h, w)``; with ``return_hidden_at=k`` also block ``k``'s output ``(B, L, dim)``.

        Args:
            latents: noisy latent ``(B, 16, F, h, w)``.
            timestep: ``(B,)``, ``sigma * 1000``.
            condition: ``(B, 24, F, h, w)`` from :func:`~.conditioning.build_condition`.
            context: framewise context tokens ``(B, F, N, D)`` (``F`` may be 1: one context for all frames).
            text: text tokens ``(B, text_len, text_dim)``.
        """
        wan = self.wan
        x = torch.cat([latents, condition], dim=1).to(self.dtype)
        if x.shape[1] != wan.config.in_channels:
            raise ValueError(f"latents + condition have {x.shape[1]} channels, the model takes {wan.config.in_channels}")
        if text.shape[1] != self.text_len:
            raise ValueError(f"text has {text.shape[1]} tokens, the model takes {self.text_len}")
        batch, _, frames, height, width = x.shape
        p_t, p_h, p_w = wan.config.patch_size

        rotary = wan.rope(x)
        hidden = wan.patch_embedding(x).flatten(2).transpose(1, 2).contiguous()
        temb, tproj, text_h, context_h = wan.condition_embedder(
            timestep, text.to(self.dtype), context.flatten(1, 2).to(self.dtype))
        tproj = tproj.unflatten(1, (6, -1))
        encoder = torch.cat([context_h, text_h], dim=1)

        captured = None
        for index, block in enumerate(wan.blocks):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                hidden = torch.utils.checkpoint.checkpoint(block, hidden, encoder, tproj, rotary, use_reentrant=False)
            else:
                hidden = block(hidden, encoder, tproj, rotary)
            if index == return_hidden_at:
                captured = hidden

        shift, scale = (wan.scale_shift_table.to(temb.device) + temb.unsqueeze(1)).chunk(2, dim=1)
        hidden = (wan.norm_out(hidden.float()) * (1 + scale) + shift).type_as(hidden)
        hidden = wan.proj_out(hidden)
        hidden = hidden.reshape(batch, frames // p_t, height // p_h, width // p_w, p_t, p_h, p_w, -1)
        out = hidden.permute(0, 7, 1, 4, 2, 5, 3, 6).flatten(6, 7).flatten(4, 5).flatten(2, 3)
        if return_hidden_at is None:
            return out
        if captured is None:
            raise ValueError(f"return_hidden_at={return_hidden_at}: the model has {len(wan.blocks)} blocks")
        return out, captured
