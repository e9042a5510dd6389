"""Wan2.1's original parameter names -> diffusers', and configs read from tensor shapes.

- transformer: ``blocks.N.self_attn.q`` -> ``blocks.N.attn1.to_q``, ``head.modulation`` ->
  ``scale_shift_table``, ``img_emb.proj.*`` -> ``condition_embedder.image_embedder.*``, ... The
  original block runs norm1, self-attn, norm3, cross-attn, norm2, ffn and only norm3 has weights:
  it is diffusers' ``norm2``.
- VAE (``Wan2.1_VAE.pth``): flat ``encoder.downsamples.K`` / ``decoder.upsamples.K`` lists ->
  diffusers' blocks, for any depth (read from the lists' lengths).
- CLIP (``models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth``): the ``visual.*`` tower ->
  transformers ``CLIPVisionModel`` (its fused ``to_qkv`` split into q, k, v).

Unknown names are left as they are, so a strict load reports them. :func:`adapt_transformer` fits
a Fun-InP / I2V / T2V transformer to cleanplate's 40 input channels and context branch.
"""

from __future__ import annotations

import math
import re

import torch

from ...errors import InputError

HEAD_DIM = 128  # every Wan2.1 transformer: 1.3B is 12 x 128, 14B is 40 x 128
PREFIXES = ("model.diffusion_model.", "module.")

_ATTN = {"q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0", "norm_q": "norm_q", "norm_k": "norm_k",
         "k_img": "add_k_proj", "v_img": "add_v_proj", "norm_k_img": "norm_added_k"}
_TRANSFORMER_RULES = [
    (r"^text_embedding\.0\.", "condition_embedder.text_embedder.linear_1."),
    (r"^text_embedding\.2\.", "condition_embedder.text_embedder.linear_2."),
    (r"^time_embedding\.0\.", "condition_embedder.time_embedder.linear_1."),
    (r"^time_embedding\.2\.", "condition_embedder.time_embedder.linear_2."),
    (r"^time_projection\.1\.", "condition_embedder.time_proj."),
    (r"^head\.head\.", "proj_out."),
    (r"^head\.modulation$", "scale_shift_table"),
    (r"^img_emb\.proj\.0\.", "condition_embedder.image_embedder.norm1."),
    (r"^img_emb\.proj\.1\.", "condition_embedder.image_embedder.ff.net.0.proj."),
    (r"^img_emb\.proj\.3\.", "condition_embedder.image_embedder.ff.net.2."),
    (r"^img_emb\.proj\.4\.", "condition_embedder.image_embedder.norm2."),
    (r"^blocks\.(\d+)\.self_attn\.(\w+)\.", lambda m: f"blocks.{m[1]}.attn1.{_ATTN.get(m[2], m[2])}."),
    (r"^blocks\.(\d+)\.cross_attn\.(\w+)\.", lambda m: f"blocks.{m[1]}.attn2.{_ATTN.get(m[2], m[2])}."),
    # The original block runs norm1, self-attn, norm3, cross-attn, norm2, ffn; only norm3 has weights.
    (r"^blocks\.(\d+)\.norm3\.", r"blocks.\1.norm2."),
    (r"^blocks\.(\d+)\.ffn\.0\.", r"blocks.\1.ffn.net.0.proj."),
    (r"^blocks\.(\d+)\.ffn\.2\.", r"blocks.\1.ffn.net.2."),
    (r"^blocks\.(\d+)\.modulation$", r"blocks.\1.scale_shift_table"),
]


def strip_prefixes(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def rename(key: str, rules) -> str:
    for pattern, repl in rules:
        new, count = re.subn(pattern, repl, key, count=1)
        if count:
            return new
    return key


def is_original_transformer(state: dict) -> bool:
    return "head.modulation" in state or "head.head.weight" in state


def transformer_from_original(state: dict) -> dict:
    """Original Wan2.1 transformer names -> diffusers ``WanTransformer3DModel`` names (unknown keys unchanged)."""
    return {rename(k, _TRANSFORMER_RULES): v for k, v in strip_prefixes(state).items()}


def infer_transformer_config(state: dict, num_heads: int | None = None, eps: float = 1e-6) -> dict:
    """``WanTransformer3DModel`` constructor arguments read from a diffusers-named state dict's shapes."""
    try:
        weight = state["patch_embedding.weight"]
        dim, in_channels, patch = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
        heads = num_heads or max(1, dim // HEAD_DIM)
        config = dict(
            patch_size=patch, num_attention_heads=heads, attention_head_dim=dim // heads,
            in_channels=in_channels, out_channels=state["proj_out.weight"].shape[0] // math.prod(patch),
            text_dim=state["condition_embedder.text_embedder.linear_1.weight"].shape[1],
            freq_dim=state["condition_embedder.time_embedder.linear_1.weight"].shape[1],
            ffn_dim=state["blocks.0.ffn.net.0.proj.weight"].shape[0],
            num_layers=1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks.")),
            cross_attn_norm="blocks.0.norm2.weight" in state, qk_norm="rms_norm_across_heads", eps=eps)
    except KeyError as err:
        raise InputError("-O model", f"the transformer weights have no {err.args[0]}",
                         "this is not a Wan2.1 transformer checkpoint") from None
    if "condition_embedder.image_embedder.norm1.weight" in state:
        config.update(image_dim=state["condition_embedder.image_embedder.norm1.weight"].shape[0],
                      added_kv_proj_dim=state["blocks.0.attn2.add_k_proj.weight"].shape[1])
    return config


_CONTEXT_BRANCH = re.compile(r"^condition_embedder\.image_embedder\.|\.attn2\.(add_k_proj|add_v_proj|norm_added_k)\.")


def adapt_transformer(state: dict, wan) -> list[str]:
    """Fit a Wan2.1 state dict to ``wan`` (our 40-channel, context-branch transformer), in place.

    Zero-extends the patch embedding's input channels, and adds the context branch from ``wan``'s
    own initialisation (value projection zeroed) when the checkpoint has none at all. Returns what
    was initialised; anything else that differs is left for the strict load to report.
    """
    own = wan.state_dict()
    done = []
    key = "patch_embedding.weight"
    if key in state and state[key].shape[1] < own[key].shape[1] and state[key].shape[0] == own[key].shape[0]:
        extra = own[key].shape[1] - state[key].shape[1]
        pad = torch.zeros(state[key].shape[0], extra, *state[key].shape[2:], dtype=state[key].dtype)
        state[key] = torch.cat([state[key], pad], dim=1)
        done.append(f"{extra} input channels of the patch embedding (zeros)")
    if not has_context_branch(state):
        branch = [k for k in own if _CONTEXT_BRANCH.search(k)]
        for k in branch:
            state[k] = torch.zeros_like(own[k]) if ".add_v_proj." in k else own[k].clone()
        if branch:
            done.append(f"the framewise context branch ({len(branch)} tensors, value projections zeroed)")
    return done


# -- VAE -------------------------------------------------------------------------------------------

_RESBLOCK = {"residual.0.gamma": "norm1.gamma", "residual.2.weight": "conv1.weight", "residual.2.bias": "conv1.bias",
             "residual.3.gamma": "norm2.gamma", "residual.6.weight": "conv2.weight", "residual.6.bias": "conv2.bias",
             "shortcut.weight": "conv_shortcut.weight", "shortcut.bias": "conv_shortcut.bias"}
_MIDDLE = {"0": "mid_block.resnets.0", "1": "mid_block.attentions.0", "2": "mid_block.resnets.1"}


def _count(state: dict, prefix: str) -> int:
    found = [int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)]
    return 1 + max(found) if found else 0


def vae_levels(state: dict) -> tuple[int, int]:
    """``(levels, num_res_blocks)`` of an original Wan VAE from its flat down/up-sample lists."""
    down = _count(state, "encoder.downsamples.")
    up = _count(state, "decoder.upsamples.")
    levels = up - down  # the decoder has one more residual block per level
    if levels < 1 or (down - (levels - 1)) % levels:
        raise InputError("-O model", "the VAE weights do not have the Wan2.1 VAE layout", "give Wan2.1_VAE.pth")
    return levels, (down - (levels - 1)) // levels


def vae_from_original(state: dict) -> dict:
    """Original ``Wan2.1_VAE.pth`` names -> diffusers ``AutoencoderKLWan`` names."""
    state = strip_prefixes(state)
    levels, blocks = vae_levels(state)
    out = {}
    for key, value in state.items():
        part, _, rest = key.partition(".")
        if part in ("conv1", "conv2"):
            out[("quant_conv." if part == "conv1" else "post_quant_conv.") + rest] = value
            continue
        sub, _, rest = rest.partition(".")
        if sub == "conv1":
            new = f"{part}.conv_in.{rest}"
        elif sub == "head":
            index, _, leaf = rest.partition(".")
            new = f"{part}.{'norm_out' if index == '0' else 'conv_out'}.{leaf}"
        elif sub == "middle":
            index, _, leaf = rest.partition(".")
            new = f"{part}.{_MIDDLE[index]}.{_RESBLOCK.get(leaf, leaf)}"
        elif sub == "downsamples":
            index, _, leaf = rest.partition(".")
            new = f"{part}.down_blocks.{index}.{_RESBLOCK.get(leaf, leaf)}"
        elif sub == "upsamples":
            index, _, leaf = rest.partition(".")
            level, local = divmod(int(index), blocks + 2)
            if local <= blocks:
                new = f"{part}.up_blocks.{level}.resnets.{local}.{_RESBLOCK.get(leaf, leaf)}"
            else:
                new = f"{part}.up_blocks.{level}.upsamplers.0.{leaf}"
        else:
            new = key
        out[new] = value
    return out


def infer_vae_config(state: dict) -> dict:
    """``AutoencoderKLWan`` arguments from an original-named VAE state dict."""
    levels, blocks = vae_levels(state)
    base = state["encoder.conv1.weight"].shape[0]
    mult, temporal = [], []
    for level in range(levels):
        last = level * (blocks + 1) + blocks - 1
        mult.append(state[f"encoder.downsamples.{last}.residual.6.weight"].shape[0] // base)
        if level < levels - 1:
            temporal.append(f"encoder.downsamples.{last + 1}.time_conv.weight" in state)
    return dict(base_dim=base, z_dim=state["conv2.weight"].shape[0], dim_mult=mult, num_res_blocks=blocks,
                temperal_downsample=temporal)


# -- CLIP (open-clip ViT-H/14 inside Wan's models_clip_*.pth) -----------------------------------------

def clip_from_original(state: dict) -> tuple[dict, dict]:
    """Wan's CLIP ``visual.*`` weights -> transformers ``CLIPVisionModel`` names, and its config.

    The text tower, the projection head and the logit scale are not used and are left out.
    """
    out = {}
    prefix = "vision_model."
    for key, value in strip_prefixes(state).items():
        if not key.startswith("visual.") or key == "visual.head" or key.startswith("visual.head."):
            continue
        key = key[len("visual."):]
        m = re.match(r"transformer\.(\d+)\.(.+)$", key)
        if m:
            layer, leaf = f"{prefix}encoder.layers.{m[1]}.", m[2]
            if leaf.startswith("attn.to_qkv."):
                kind = leaf.rsplit(".", 1)[1]
                for name, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                    out[f"{layer}self_attn.{name}.{kind}"] = chunk.clone()
                continue
            leaf = (leaf.replace("attn.proj.", "self_attn.out_proj.").replace("norm1.", "layer_norm1.")
                    .replace("norm2.", "layer_norm2.").replace("mlp.0.", "mlp.fc1.").replace("mlp.2.", "mlp.fc2."))
            out[layer + leaf] = value
        elif key == "cls_embedding":
            out[prefix + "embeddings.class_embedding"] = value.reshape(-1)
        elif key == "pos_embedding":
            out[prefix + "embeddings.position_embedding.weight"] = value.reshape(value.shape[-2], value.shape[-1])
        elif key.startswith("patch_embedding."):
            out[prefix + "embeddings." + key] = value
        elif key.startswith("pre_norm."):
            out[prefix + "pre_layrnorm." + key.split(".", 1)[1]] = value
        elif key.startswith("post_norm."):
            out[prefix + "post_layernorm." + key.split(".", 1)[1]] = value
        else:
            out[prefix + key] = value
    patch = out[prefix + "embeddings.patch_embedding.weight"]
    dim, size = patch.shape[0], patch.shape[-1]
    tokens = out[prefix + "embeddings.position_embedding.weight"].shape[0]
    config = dict(hidden_size=dim, intermediate_size=out[f"{prefix}encoder.layers.0.mlp.fc1.weight"].shape[0],
                  num_hidden_layers=_count(out, f"{prefix}encoder.layers."), num_attention_heads=max(1, dim // 80),
                  patch_size=size, image_size=int(round(math.sqrt(tokens - 1))) * size, hidden_act="gelu",
                  layer_norm_eps=1e-5)
    return out, config


def has_context_branch(state: dict) -> bool:
    """Whether the checkpoint carries its own context branch (then nothing needs a random init)."""
    return any(_CONTEXT_BRANCH.search(k) for k in state)
