"""Framewise context cross-attention (UnderEraser, §3.3).

Wan2.1-I2V attends from every video token to one set of CLIP tokens of one image. UnderEraser gives
each latent frame its own context: tokens of the masked video ``V * (1 - M)`` at that frame, so
what is visible around the hole *now* guides the fill *now*.

- :class:`PatchContextEncoder`: a small trainable ViT-style patch encoder (used when no CLIP is given).
- :class:`ClipContextEncoder`: a transformers ``CLIPVisionModel`` loaded from a local folder; its
  penultimate hidden state is used, as Wan2.1-I2V does (257 tokens x 1280 for ViT-H/14).
- The tokens are projected by the transformer's image-embedding MLP (``img_emb`` in Wan2.1).
- :class:`FramewiseCrossAttnProcessor` replaces the cross-attention processor of every block: the
  text part is unchanged; the context part folds frames into the batch,
  ``[B, F*H*W, C] -> [B*F, H*W, C]``, attends each frame's tokens to that frame's context only, and
  unfolds. With one context frame it is exactly Wan2.1-I2V's cross-attention.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .conditioning import TEMPORAL

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def context_frame_indices(num_latent_frames: int) -> list[int]:
    """The pixel frame that represents each latent frame: frame 0, then the last of each group of 4."""
    return [TEMPORAL * i for i in range(num_latent_frames)]


class PatchContextEncoder(nn.Module):
    """Images ``(N, 3, H, W)`` in [-1, 1] -> tokens ``(N, (size / patch)^2, dim)``; trainable."""

    kind = "patch"

    def __init__(self, image_size: int = 224, patch_size: int = 16, dim: int = 512, depth: int = 2, heads: int = 8):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.config = dict(image_size=image_size, patch_size=patch_size, dim=dim, depth=depth, heads=heads)
        self.image_size = image_size
        self.num_tokens = (image_size // patch_size) ** 2
        self.dim = dim
        self.patch = nn.Conv2d(3, dim, patch_size, stride=patch_size)
        self.pos = nn.Parameter(torch.randn(1, self.num_tokens, dim) * dim**-0.5)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False) if depth else nn.Identity()
        self.norm = nn.LayerNorm(dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        x = self.patch(x.to(self.patch.weight.dtype)).flatten(2).transpose(1, 2) + self.pos
        return self.norm(self.blocks(x))


class ClipContextEncoder(nn.Module):
    """A CLIP vision tower; images in [-1, 1] -> its penultimate hidden state ``(N, 1 + patches, dim)``."""

    kind = "clip"

    def __init__(self, vision_model):
        super().__init__()
        self.model = vision_model
        cfg = vision_model.config
        self.image_size = cfg.image_size
        self.num_tokens = (cfg.image_size // cfg.patch_size) ** 2 + 1
        self.dim = cfg.hidden_size
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.float() + 1.0) / 2.0
        x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False)
        x = ((x - self.mean) / self.std).to(next(self.model.parameters()).dtype)
        return self.model(pixel_values=x, output_hidden_states=True).hidden_states[-2]


def encode_context(encoder: nn.Module, masked: torch.Tensor, num_latent_frames: int) -> torch.Tensor:
    """Context tokens ``(B, F, N, D)``, one set per latent frame, from the masked video ``(B, 3, T, H, W)``."""
    index = torch.tensor(context_frame_indices(num_latent_frames), device=masked.device)
    frames = masked.index_select(2, index).transpose(1, 2)  # (B, F, 3, H, W)
    b, f = frames.shape[:2]
    tokens = encoder(frames.flatten(0, 1))
    return tokens.reshape(b, f, *tokens.shape[1:])


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(B, L, H*D)`` -> ``(B, H, L, D)`` for scaled_dot_product_attention."""
    return x.unflatten(2, (heads, -1)).transpose(1, 2)


class FramewiseCrossAttnProcessor:
    """Cross-attention to the text and, frame by frame, to each frame's context tokens.

    ``encoder_hidden_states`` is ``[context (F * tokens_per_frame) | text (text_len)]``, as Wan2.1-I2V
    concatenates them. Query tokens are ordered frame-major (``F`` groups of ``H*W``), as the patch
    embedding flattens them, so ``F`` follows from the context length and nothing else changes in the block.
    """

    def __init__(self, text_len: int, tokens_per_frame: int):
        self.text_len = text_len
        self.tokens_per_frame = tokens_per_frame

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        context_len = encoder_hidden_states.shape[1] - self.text_len
        context = encoder_hidden_states[:, :context_len]
        text = encoder_hidden_states[:, context_len:]

        query = attn.norm_q(attn.to_q(hidden_states))
        key = attn.norm_k(attn.to_k(text))
        value = attn.to_v(text)
        q = _heads(query, attn.heads)
        out = F.scaled_dot_product_attention(q, _heads(key, attn.heads), _heads(value, attn.heads))
        out = out.transpose(1, 2).flatten(2).type_as(query)

        if context_len:
            if attn.add_k_proj is None:
                raise ValueError("context tokens given to a cross-attention without a context branch")
            frames, rest = divmod(context_len, self.tokens_per_frame)
            b, length, _ = query.shape
            if rest or length % frames:
                raise ValueError(f"{context_len} context tokens do not split into frames of "
                                 f"{self.tokens_per_frame} over {length} query tokens")
            key_ctx = attn.norm_added_k(attn.add_k_proj(context))
            value_ctx = attn.add_v_proj(context)
            # Fold frames into the batch: [B, F*HW, C] -> [B*F, HW, C]; context [B, F*N, C] -> [B*F, N, C].
            q_f = _heads(query.reshape(b * frames, length // frames, -1), attn.heads)
            k_f = _heads(key_ctx.reshape(b * frames, self.tokens_per_frame, -1), attn.heads)
            v_f = _heads(value_ctx.reshape(b * frames, self.tokens_per_frame, -1), attn.heads)
            ctx_out = F.scaled_dot_product_attention(q_f, k_f, v_f)
            out = out + ctx_out.transpose(1, 2).reshape(b, length, -1).type_as(query)

        out = attn.to_out[0](out)
        return attn.to_out[1](out)
