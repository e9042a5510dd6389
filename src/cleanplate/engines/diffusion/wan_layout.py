"""Real Wan2.1 folders -> :class:`~.model.UnderEraser`.

Two layouts are read, both from a local folder:

- **diffusers** (``Wan-AI/Wan2.1-*-Diffusers``): ``transformer/``, ``vae/``, ``image_encoder/``
  (CLIP, transformers), ``text_encoder/`` (UMT5) — names as in diffusers.
- **original** (``Wan-AI/Wan2.1-*``, ``alibaba-pai/Wan2.1-Fun-*-InP``): ``diffusion_pytorch_model*.safetensors``
  (or ``.pth``) with the original names, ``config.json`` (``dim``, ``num_heads``, ...),
  ``Wan2.1_VAE.pth`` and ``models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth``.

Names are mapped by :mod:`.wan_names`; configs are read from tensor shapes. A Fun-InP / I2V
transformer (36 input channels) gets the 4 affected-mask channels zero-initialised; a T2V transformer
(16 channels, no image branch) also gets the context branch, its value projection zeroed, so it
starts out computing exactly what the T2V model computes. Every other parameter must match.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch

from ...errors import InputError
from .conditioning import CONDITION_CHANNELS
from .wan_names import (adapt_transformer, clip_from_original, has_context_branch, infer_transformer_config,
                        infer_vae_config, is_original_transformer, strip_prefixes, transformer_from_original,
                        vae_from_original)
from .weights import (DIFFUSERS_STEM, clip_names_for, load_clip_vision, load_diffusers_component, load_state,
                      load_strict, read_json, read_weights)

log = logging.getLogger(__name__)


def load_original_clip(path: Path):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    from .context import ClipContextEncoder

    state, config = clip_from_original(read_weights(path))
    model = CLIPVisionModel(CLIPVisionConfig(**config))
    load_strict(model, clip_names_for(model, state), path)
    return ClipContextEncoder(model)


# -- folders -----------------------------------------------------------------------------------------

def _first(root: Path, *patterns: str) -> Path | None:
    for pattern in patterns:
        found = sorted(root.glob(pattern))
        if found:
            return found[0]
    return None


def _transformer_state(path: Path) -> tuple[dict, Path]:
    if path.is_file():
        return read_weights(path), path
    for folder in (path / "transformer", path):
        try:
            return load_state(folder, DIFFUSERS_STEM), folder
        except InputError:
            pass
    pth = [p for p in sorted(path.glob("*.pth")) + sorted(path.glob("*.pt"))
           if not re.search(r"vae|clip|t5|text", p.name, re.I)]
    if len(pth) == 1:
        return read_weights(pth[0]), pth[0]
    raise InputError(path, "holds no Wan2.1 transformer weights",
                     "give a cleanplate checkpoint, or a folder with transformer/ (diffusers layout) or "
                     "diffusion_pytorch_model*.safetensors (original layout)")


def _context_encoder(root: Path, clip: Path | None, wants_dim: int | None):
    if clip is not None:
        if not clip.exists():
            raise InputError(clip, "does not exist", "give a CLIP vision model folder (config.json + model.safetensors)")
        return load_original_clip(clip) if clip.is_file() else load_clip_vision(clip)
    if (root / "image_encoder" / "config.json").exists():
        return load_clip_vision(root / "image_encoder")
    original = _first(root, "models_clip_*.pth", "*clip*.pth", "*clip*.safetensors")
    if original is not None:
        return load_original_clip(original)
    if wants_dim is not None:
        raise InputError(root, f"the transformer's context branch takes {wants_dim}-d CLIP tokens and no CLIP was found",
                         "pass -O clip=PATH (a CLIP vision model folder, e.g. image_encoder/ of Wan2.1-I2V-Diffusers)")
    from .context import PatchContextEncoder

    return PatchContextEncoder()


def _vae(root: Path):
    from diffusers import AutoencoderKLWan

    from .weights import build_empty

    if (root / "vae" / "config.json").exists():
        return load_diffusers_component(AutoencoderKLWan, root / "vae")
    path = _first(root, "Wan2.1_VAE.pth", "*VAE*.pth", "*vae*.pth", "*VAE*.safetensors", "*vae*.safetensors")
    if path is None:
        raise InputError(root, "holds no VAE", "the folder needs vae/ (diffusers layout) or Wan2.1_VAE.pth")
    state = strip_prefixes(read_weights(path))
    vae = build_empty(AutoencoderKLWan, infer_vae_config(state))
    load_strict(vae, vae_from_original(state), path)
    return vae


def _text_context(root: Path, text_len: int, text_dim: int) -> torch.Tensor:
    from .text import empty_prompt_context

    cached = root / "text_context.safetensors"
    if cached.exists():
        from safetensors.torch import load_file

        return load_file(str(cached))["text_context"]
    if (root / "text_encoder" / "config.json").exists():
        return empty_prompt_context(root / "text_encoder", text_len)
    log.warning("%s has no text encoder: the empty-prompt context is zeros", root)
    return torch.zeros(1, text_len, text_dim)


def load_wan(path: Path, clip: Path | None = None):
    """A Wan2.1 / Fun-InP folder (or transformer weights file) -> :class:`~.model.UnderEraser`."""
    from diffusers import WanTransformer3DModel

    from .model import UnderEraser
    from .transformer import UnderEraserTransformer
    from .weights import build_empty

    root = path.parent if path.is_file() else path
    state, source = _transformer_state(path)
    state = strip_prefixes(state)
    if is_original_transformer(state):
        state = transformer_from_original(state)
    meta = read_json(root / "config.json") if (root / "config.json").exists() else {}
    if (source / "config.json").exists() and source.is_dir() and source != root:
        meta = read_json(source / "config.json")
    heads = meta.get("num_attention_heads") or meta.get("num_heads")
    config = infer_transformer_config(state, heads, meta.get("eps", 1e-6))
    encoder = _context_encoder(root, clip, config.get("image_dim"))
    config.update(in_channels=16 + CONDITION_CHANNELS, image_dim=config.get("image_dim", encoder.dim),
                  added_kv_proj_dim=config.get("added_kv_proj_dim", config["num_attention_heads"] * config["attention_head_dim"]))
    if config["image_dim"] != encoder.dim:
        raise InputError(source, f"the context branch takes {config['image_dim']}-d tokens, the CLIP gives {encoder.dim}",
                         "pass -O clip=PATH with the CLIP this model was trained with")
    # A checkpoint without a context branch takes that branch from a seeded random initialisation.
    wan = build_empty(WanTransformer3DModel, config) if has_context_branch(state) else _seeded(WanTransformer3DModel, config)
    for note in adapt_transformer(state, wan):
        log.info("%s: initialised %s", source, note)
    load_strict(wan, state, source)
    text = _text_context(root, 512 if "text_len" not in meta else int(meta["text_len"]), config["text_dim"])
    transformer = UnderEraserTransformer(wan, text.shape[1], encoder.num_tokens)
    return UnderEraser(transformer, _vae(root), encoder, text)



def _seeded(cls, config: dict, seed: int = 0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(**config)
