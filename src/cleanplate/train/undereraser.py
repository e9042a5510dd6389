"""The diffusion engine's UnderEraser model under the training contract (model kind ``undereraser``).

- :class:`UnderEraserDenoiser`, the trained part: the Wan2.1-style DiT
  (:class:`~cleanplate.engines.diffusion.transformer.UnderEraserTransformer`) and the framewise
  context encoder, with the empty-prompt text context. ``forward(x_t, t, cond)`` encodes each latent
  frame's context (UnderEraser sec. 3.3), scales ``t`` to the DiT's ``1000 * sigma`` and predicts the
  velocity ``eps - x0``; ``blocks`` are the DiT blocks (OIRD reads one); ``token_grid`` follows the
  patch size.
- :class:`UnderEraserCodec`, frozen: the Wan VAE (latents normalised by its ``latents_mean/std``) and
  the conditioning the engine's pipeline builds at inference, channel for channel
  (:mod:`cleanplate.engines.diffusion.conditioning`): folded *known* mask, latent of the masked
  video ``V * (1 - M)``, folded *affected* mask, and the masked frames each latent frame's context
  is encoded from.

``context_attention: "off"`` is the "w/o FCCA" ablation: every block's context value projection is
zero and frozen, so the context cross-attention adds exactly nothing (and the context encoder gets
no gradient). A model trained so runs unchanged in the engine and computes the same.
"""

from __future__ import annotations

import copy
import logging
import os
from pathlib import Path

import torch
from torch import nn

from .. import quadmask
from ..engines.diffusion import conditioning
from ..engines.diffusion.context import ClipContextEncoder, context_frame_indices
from ..errors import InputError

log = logging.getLogger(__name__)

CONTEXT_ATTENTION = ("framewise", "off")


class UnderEraserDenoiser(nn.Module):
    """DiT + context encoder: ``forward(x_t, t, cond) -> v``, the training contract's denoiser.

    ``cond`` is :meth:`UnderEraserCodec.condition`'s dict: ``condition`` ``(B, 2z + 8, F, h, w)``
    and ``context_frames`` ``(B, F, 3, H, W)`` in [-1, 1].
    """

    def __init__(self, transformer: nn.Module, context_encoder: nn.Module, text_context: torch.Tensor):
        super().__init__()
        self.transformer = transformer
        self.context_encoder = context_encoder
        self.register_buffer("text_context", text_context, persistent=False)

    @property
    def blocks(self) -> nn.ModuleList:
        return self.transformer.wan.blocks

    def token_grid(self, latent_shape) -> tuple[int, int, int]:
        """``(F, h, w)`` of the DiT's tokens for latents ``(B, C, F, H, W)``: the latent grid over the patch."""
        p_t, p_h, p_w = self.transformer.config.patch_size
        f, h, w = latent_shape[2:5]
        return f // p_t, h // p_h, w // p_w

    def encode_context(self, frames: torch.Tensor) -> torch.Tensor:
        """Framewise context tokens ``(B, F, N, D)`` from masked frames ``(B, F, 3, H, W)``."""
        b, f = frames.shape[:2]
        tokens = self.context_encoder(frames.flatten(0, 1))
        return tokens.reshape(b, f, *tokens.shape[1:])

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        context = self.encode_context(cond["context_frames"])
        text = self.text_context.expand(x_t.shape[0], -1, -1)
        return self.transformer(x_t, t * 1000.0, cond["condition"], context, text)


class UnderEraserCodec:
    """The frozen VAE and the conditioning, as the engine's pipeline builds them at inference."""

    def __init__(self, vae: nn.Module):
        self.vae = vae.eval().requires_grad_(False)

    def to(self, device) -> "UnderEraserCodec":
        self.vae.to(device)
        return self

    @torch.no_grad()
    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Video ``(B, 3, 1 + 4k, H, W)`` in [-1, 1] -> normalised latents (as ``UnderEraser.encode``)."""
        z = self.vae.encode(video).latent_dist.mode()
        cfg = self.vae.config
        mean = z.new_tensor(cfg.latents_mean).view(1, -1, 1, 1, 1)
        std = z.new_tensor(cfg.latents_std).view(1, -1, 1, 1, 1)
        return (z - mean) / std

    @torch.no_grad()
    def condition(self, batch: dict) -> dict:
        """``{"condition", "context_frames"}`` from the torch batch (``input``, ``quadmask``)."""
        q = batch["quadmask"]
        known = (~quadmask.hole(q)).unsqueeze(1).float()
        affected = quadmask.affected_region(q).unsqueeze(1).float()
        masked = conditioning.masked_video(batch["input"], known)
        latent = self.encode(masked)
        index = torch.tensor(context_frame_indices(latent.shape[2]), device=masked.device)
        return {"condition": conditioning.build_condition(latent, known, affected),
                "context_frames": masked.index_select(2, index).transpose(1, 2)}


def load_vae(vae, seed: int = 0):
    """The VAE: a folder (diffusers ``AutoencoderKLWan``: ``config.json`` + weights, e.g. from
    :func:`cleanplate.train.export.export_vae` or Wan2.1's ``vae/``), or constructor arguments for a
    randomly initialised one (only good for tests: its latents carry nothing)."""
    from diffusers import AutoencoderKLWan

    from ..engines.diffusion.weights import load_diffusers_component

    if isinstance(vae, (str, os.PathLike)):
        folder = Path(vae).expanduser()
        if not (folder / "config.json").is_file():
            raise InputError(f"model.options.vae={str(vae)!r}", "is not a VAE folder with a config.json",
                             "train one first (a wan-vae run with export), or give Wan2.1's vae/ folder")
        return load_diffusers_component(AutoencoderKLWan, folder)
    log.warning("the VAE is randomly initialised: its latents carry nothing useful; give a trained VAE folder")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoencoderKLWan(**(vae or {}))


def build_undereraser(preset: str = "tiny", transformer: dict | None = None, context: dict | None = None,
                      text_len: int | None = None, vae=None, init: str | None = None,
                      context_attention: str = "framewise", gradient_checkpointing: bool = False, seed: int = 0):
    """``(UnderEraserDenoiser, UnderEraserCodec)``; registered as model kind ``undereraser``.

    Args:
        preset: the engine's model preset the shapes start from (``tiny``, ``wan2.1-1.3b``).
        transformer: ``WanTransformer3DModel`` arguments overriding the preset's (layers, heads,
            head dim, ffn width...). ``in_channels``/``out_channels`` follow the VAE's ``z_dim``.
        context: the context encoder's arguments overriding the preset's (``kind: patch``: image_size,
            patch_size, dim, depth, heads); its ``dim`` must equal the transformer's ``image_dim``.
        text_len: text tokens a block sees (the text context is the empty prompt: zeros).
        vae: a VAE folder (trained, or Wan2.1's), or ``AutoencoderKLWan`` arguments (random, tests only);
            default: the preset's, random.
        init: a model folder (cleanplate checkpoint or Wan2.1 / Fun-InP) whose weights to start from;
            then preset, transformer and context are ignored, and ``vae`` replaces its VAE if given.
        context_attention: ``framewise`` (UnderEraser) or ``off`` (the w/o-FCCA ablation, see module doc).
        gradient_checkpointing: recompute block activations in the backward pass (less memory, ~30% slower).
        seed: seeds the random initialisation.
    """
    from diffusers import WanTransformer3DModel

    from ..engines.diffusion.model import PRESETS, make_context_encoder
    from ..engines.diffusion.transformer import UnderEraserTransformer

    if context_attention not in CONTEXT_ATTENTION:
        raise InputError(f"model.options.context_attention={context_attention!r}", "is not valid",
                         f"use one of: {', '.join(CONTEXT_ATTENTION)}")
    if init is not None:
        from ..engines.diffusion.weights import load_model

        model = load_model(init)
        dit, encoder, text, vae_module = model.transformer, model.context_encoder, model.text_context, model.vae
        if vae is not None:
            vae_module = load_vae(vae, seed)
    else:
        if preset not in PRESETS:
            raise InputError(f"model.options.preset={preset!r}", "is not a preset", f"use one of: {', '.join(PRESETS)}")
        spec = copy.deepcopy(PRESETS[preset])
        vae_module = load_vae(vae if vae is not None else spec.vae, seed)
        spec.transformer.update(transformer or {})
        spec.context.update(context or {})
        spec.text_len = text_len or spec.text_len
        z = vae_module.config.z_dim
        spec.transformer.update(in_channels=2 * z + 2 * conditioning.TEMPORAL, out_channels=z)
        with torch.random.fork_rng(devices=[]):  # as engines.diffusion.model.build_model, VAE apart
            torch.manual_seed(seed)
            wan = WanTransformer3DModel(**spec.transformer)
            encoder = make_context_encoder(spec.context)
        dit = UnderEraserTransformer(wan, spec.text_len, encoder.num_tokens)
        text = torch.zeros(1, spec.text_len, wan.config.text_dim)
    if encoder.dim != dit.config.image_dim:
        raise InputError("model.options.context", f"gives {encoder.dim}-d tokens, the transformer takes "
                         f"image_dim={dit.config.image_dim}", "make context.dim equal transformer.image_dim")
    denoiser = UnderEraserDenoiser(dit, encoder, text)
    if isinstance(encoder, ClipContextEncoder):
        encoder.requires_grad_(False)  # CLIP stays frozen, as in Wan2.1-I2V
    if context_attention == "off":
        switch_off_context(denoiser)
    denoiser.transformer.gradient_checkpointing = gradient_checkpointing
    return denoiser, UnderEraserCodec(vae_module)


def switch_off_context(denoiser: UnderEraserDenoiser) -> None:
    """Zero and freeze every block's context value projection: the context attention adds nothing."""
    wan = denoiser.transformer.wan
    with torch.no_grad():
        for block in wan.blocks:
            attn = block.attn2
            attn.add_v_proj.weight.zero_()
            attn.add_v_proj.bias.zero_()
            for module in (attn.add_k_proj, attn.add_v_proj, attn.norm_added_k):
                module.requires_grad_(False)
    wan.condition_embedder.image_embedder.requires_grad_(False)
    denoiser.context_encoder.requires_grad_(False)
