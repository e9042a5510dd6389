"""The UnderEraser model: denoiser, VAE, context encoder and the precomputed text context.

:class:`ModelSpec` holds the constructor arguments of every component (what a checkpoint's JSON
configs store); :data:`PRESETS` names the shapes used here: ``tiny`` (tests, CPU, seconds) and
``wan2.1-1.3b`` (Wan2.1-1.3B's transformer and VAE with a CLIP ViT-H/14 context encoder; the
benchmark builds it with random weights). :func:`build_model` makes a randomly initialised model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from .conditioning import CONDITION_CHANNELS
from .context import ClipContextEncoder, PatchContextEncoder
from .transformer import UnderEraserTransformer


@dataclass
class ModelSpec:
    """Constructor arguments of each component."""

    transformer: dict  # diffusers.WanTransformer3DModel(**transformer)
    vae: dict = field(default_factory=dict)  # diffusers.AutoencoderKLWan(**vae)
    context: dict = field(default_factory=lambda: {"kind": "patch"})  # kind "patch" or "clip", + its args
    text_len: int = 512  # text tokens per block (Wan2.1: 512)


TINY = ModelSpec(
    transformer=dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8,
                     in_channels=16 + CONDITION_CHANNELS, out_channels=16, text_dim=16, freq_dim=16, ffn_dim=32,
                     num_layers=2, image_dim=16, added_kv_proj_dim=16, rope_max_seq_len=64),
    vae=dict(base_dim=4, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1),
    context=dict(kind="patch", image_size=16, patch_size=8, dim=16, depth=1, heads=2),
    text_len=4,
)

WAN21_1_3B = ModelSpec(
    transformer=dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128,
                     in_channels=16 + CONDITION_CHANNELS, out_channels=16, text_dim=4096, freq_dim=256,
                     ffn_dim=8960, num_layers=30, image_dim=1280, added_kv_proj_dim=1536),
    vae=dict(),
    context=dict(kind="clip", hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                 num_attention_heads=16, patch_size=14, image_size=224, hidden_act="gelu", layer_norm_eps=1e-5),
    text_len=512,
)

PRESETS = {"tiny": TINY, "wan2.1-1.3b": WAN21_1_3B}


def make_context_encoder(spec: dict) -> nn.Module:
    """A randomly initialised context encoder from ``{"kind": ..., **args}``."""
    args = dict(spec)
    kind = args.pop("kind", "patch")
    if kind == "patch":
        return PatchContextEncoder(**args)
    if kind == "clip":
        from transformers import CLIPVisionConfig, CLIPVisionModel

        return ClipContextEncoder(CLIPVisionModel(CLIPVisionConfig(**args)))
    raise ValueError(f"unknown context encoder kind {kind!r}")


class UnderEraser(nn.Module):
    """Every component the pipeline needs. ``text_context`` is ``(1, text_len, text_dim)``."""

    def __init__(self, transformer: UnderEraserTransformer, vae, context_encoder: nn.Module,
                 text_context: torch.Tensor):
        super().__init__()
        if context_encoder.dim != transformer.config.image_dim:
            raise ValueError(f"context encoder gives {context_encoder.dim}-d tokens, "
                             f"the transformer takes {transformer.config.image_dim}")
        if tuple(text_context.shape[1:]) != (transformer.text_len, transformer.config.text_dim):
            raise ValueError(f"text context {tuple(text_context.shape)} does not match the transformer")
        self.transformer = transformer
        self.vae = vae
        self.context_encoder = context_encoder
        self.register_buffer("text_context", text_context, persistent=False)

    @property
    def spec(self) -> ModelSpec:
        context = dict(self.context_encoder.config) if self.context_encoder.kind == "patch" else \
            self.context_encoder.model.config.to_diff_dict()
        return ModelSpec(transformer=_plain(self.transformer.config), vae=_plain(self.vae.config),
                         context={"kind": self.context_encoder.kind, **context},
                         text_len=self.transformer.text_len)

    def _latent_stats(self, like: torch.Tensor):
        cfg = self.vae.config
        mean = torch.tensor(cfg.latents_mean, device=like.device, dtype=like.dtype).view(1, -1, 1, 1, 1)
        std = torch.tensor(cfg.latents_std, device=like.device, dtype=like.dtype).view(1, -1, 1, 1, 1)
        return mean, std

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Video ``(B, 3, 1 + 4k, H, W)`` in [-1, 1] -> normalised latent ``(B, 16, 1 + k, H/8, W/8)``."""
        param = next(self.vae.parameters())
        z = self.vae.encode(video.to(device=param.device, dtype=param.dtype)).latent_dist.mode()
        mean, std = self._latent_stats(z)
        return (z - mean) / std

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latent -> video in [-1, 1]."""
        param = next(self.vae.parameters())
        z = latents.to(device=param.device, dtype=param.dtype)
        mean, std = self._latent_stats(z)
        return self.vae.decode(z * std + mean).sample


def _plain(config) -> dict:
    """A diffusers FrozenDict config -> constructor kwargs (no private keys)."""
    return {k: copy.deepcopy(v) for k, v in dict(config).items() if not k.startswith("_")}


def build_model(spec: ModelSpec | str = "tiny", seed: int = 0, device=None) -> UnderEraser:
    """A randomly initialised model of ``spec`` (a :class:`ModelSpec` or a preset name).

    Seeded on the CPU; ``device`` builds it there directly (fast for large shapes, not seeded).
    """
    from diffusers import AutoencoderKLWan, WanTransformer3DModel

    if isinstance(spec, str):
        spec = PRESETS[spec]
    with torch.random.fork_rng(devices=[]), torch.device(device or "cpu"):
        torch.manual_seed(seed)
        wan = WanTransformer3DModel(**spec.transformer)
        vae = AutoencoderKLWan(**spec.vae)
        context = make_context_encoder(spec.context)
        text = torch.zeros(1, spec.text_len, wan.config.text_dim)
    transformer = UnderEraserTransformer(wan, spec.text_len, context.num_tokens)
    return UnderEraser(transformer, vae, context, text)
