"""Checkpoints: cleanplate's own format, and the door to real Wan2.1 folders.

A cleanplate checkpoint is a folder in diffusers' layout, so each component is also a valid
diffusers / transformers folder::

    model_index.json                  {"_class_name": "UnderEraser", "text_len": 512, "context": "clip"}
    transformer/config.json           WanTransformer3DModel constructor arguments
    transformer/diffusion_pytorch_model.safetensors        (or -00001-of-0000N shards + .index.json)
    vae/config.json, vae/diffusion_pytorch_model.safetensors
    context_encoder/config.json, context_encoder/model.safetensors   (trainable patch encoder), or
    image_encoder/config.json, image_encoder/model.safetensors       (CLIP vision tower)
    text_context.safetensors          the precomputed empty-prompt context

Weights are split into shards of at most 16 MB. Loading is strict: a missing, unexpected or
mis-shaped parameter is an :class:`~cleanplate.errors.InputError` that lists them.
:func:`load_model` opens this format and, through :mod:`.wan_layout`, real Wan2.1 / Fun-InP folders.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import torch

from ...errors import InputError, OutputError

log = logging.getLogger(__name__)

DIFFUSERS_STEM = "diffusion_pytorch_model"
TRANSFORMERS_STEM = "model"
MAX_SHARD_BYTES = 16 * 2**20
FORMAT = "UnderEraser"
NO_MODEL = ("no diffusion model is installed: pass -O model=PATH "
            "(a cleanplate checkpoint or a Wan2.1/Wan2.1-Fun-InP directory)")


# -- tensors on disk --------------------------------------------------------------------------------

def save_state(state: dict[str, torch.Tensor], folder: Path, stem: str, max_shard_bytes: int = MAX_SHARD_BYTES) -> list[Path]:
    """Write ``state`` as ``stem.safetensors``, or as shards ``stem-0000i-of-0000n.safetensors`` + index."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = tensor.detach().cpu().contiguous().clone()
        size += nbytes
    if len(shards) == 1:
        path = folder / f"{stem}.safetensors"
        save_file(shards[0], str(path))
        return [path]
    paths, weight_map = [], {}
    for i, shard in enumerate(shards):
        path = folder / f"{stem}-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(path))
        paths.append(path)
        weight_map.update({name: path.name for name in shard})
    total = sum(t.numel() * t.element_size() for t in state.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / f"{stem}.safetensors.index.json").write_text(json.dumps(index, indent=2))
    return paths


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """One weights file: ``.safetensors``, or a PyTorch pickle (``.pth``, ``.pt``, ``.bin``) read without code."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # a truncated or foreign file: say which
        raise InputError(path, f"cannot be read as PyTorch weights ({err.__class__.__name__})",
                         "check the download is complete") from None
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    return state


def load_state(folder: Path, stem: str) -> dict[str, torch.Tensor]:
    """Read ``stem.safetensors`` or its shards (through the index) from ``folder``."""
    single = folder / f"{stem}.safetensors"
    index = folder / f"{stem}.safetensors.index.json"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        state: dict[str, torch.Tensor] = {}
        for name in files:
            state.update(read_weights(folder / name))
        return state
    if single.exists():
        return read_weights(single)
    raise InputError(folder, f"holds no {stem}.safetensors", "point -O model at a complete checkpoint folder")


def _names(keys, limit: int = 8) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str | os.PathLike) -> None:
    """Load ``state`` into ``module``; raise :class:`InputError` listing missing, unexpected and mis-shaped keys."""
    own = module.state_dict()
    missing = set(own) - set(state)
    unexpected = set(state) - set(own)
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)}: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected {len(unexpected)}: {_names(unexpected)}")
    if shapes:
        problems.append(f"wrong shape {len(shapes)}: {'; '.join(shapes[:4])}")
    if problems:
        raise InputError(source, "weights do not fit the model (" + "; ".join(problems) + ")",
                         "check the checkpoint matches its config.json, or that it is a Wan2.1 / Fun-InP model")
    module.load_state_dict(state, strict=True)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(path, f"cannot be read as JSON ({err.__class__.__name__})", "check the checkpoint is complete") from None


# -- components ------------------------------------------------------------------------------------

def diffusers_config(cls, kwargs: dict) -> dict:
    import diffusers

    return {"_class_name": cls.__name__, "_diffusers_version": diffusers.__version__, **kwargs}


def build_empty(cls, config: dict):
    """A diffusers model from its config with initialisation skipped (its weights are loaded next)."""
    from diffusers.models.modeling_utils import no_init_weights

    with no_init_weights():
        return cls.from_config({k: v for k, v in config.items() if not k.startswith("_")})


def load_diffusers_component(cls, folder: Path):
    """A diffusers model (``config.json`` + weights) from ``folder``, strictly."""
    model = build_empty(cls, read_json(folder / "config.json"))
    load_strict(model, load_state(folder, DIFFUSERS_STEM), folder)
    return model


def load_clip_vision(folder: Path):
    """A transformers ``CLIPVisionModel`` from ``folder`` (``config.json`` + ``model*.safetensors``), strictly.

    A full CLIP folder (vision and text towers) also works: only the vision tower is kept.
    """
    from transformers import CLIPVisionConfig, CLIPVisionModel

    from .context import ClipContextEncoder

    if not (folder / "config.json").exists():
        raise InputError(folder, "is not a CLIP vision model folder (no config.json)",
                         "give the image_encoder/ folder of a Wan2.1-I2V diffusers checkpoint")
    config = CLIPVisionConfig.from_pretrained(str(folder))
    model = CLIPVisionModel(config)
    state = load_state(folder, TRANSFORMERS_STEM)
    unused = ("text_model.", "visual_projection.", "text_projection.", "logit_scale")
    state = {k: v for k, v in state.items() if not k.startswith(unused)}
    load_strict(model, clip_names_for(model, state), folder)
    return ClipContextEncoder(model)


def clip_names_for(model, state: dict) -> dict:
    """Fit CLIP vision names to ``model``: transformers 4 prefixes them with ``vision_model.``, 5 does not."""
    prefix = "vision_model."
    wants_prefix = any(k.startswith(prefix) for k in model.state_dict())
    out = {}
    for key, value in state.items():
        key = key[len(prefix):] if key.startswith(prefix) else key
        if key.endswith("position_ids"):  # a buffer older checkpoints saved
            continue
        out[prefix + key if wants_prefix else key] = value
    return out


def load_context_encoder(root: Path):
    from .context import PatchContextEncoder

    if (root / "context_encoder").is_dir():
        folder = root / "context_encoder"
        config = read_json(folder / "config.json")
        config.pop("kind", None)
        encoder = PatchContextEncoder(**config)
        load_strict(encoder, load_state(folder, TRANSFORMERS_STEM), folder)
        return encoder
    return load_clip_vision(root / "image_encoder")


# -- cleanplate checkpoints ------------------------------------------------------------------------

def save_model(model, path: str | os.PathLike, overwrite: bool = False, max_shard_bytes: int = MAX_SHARD_BYTES) -> Path:
    """Write ``model`` (an :class:`~.model.UnderEraser`) as a cleanplate checkpoint folder, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(path, "already exists", "choose another path or pass overwrite=True")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        transformer, vae, encoder = model.transformer.wan, model.vae, model.context_encoder
        index = {"_class_name": FORMAT, "text_len": model.transformer.text_len, "context": encoder.kind}
        tmp.mkdir(parents=True)
        (tmp / "model_index.json").write_text(json.dumps(index, indent=2))
        for name, component in (("transformer", transformer), ("vae", vae)):
            (tmp / name).mkdir()
            config = diffusers_config(type(component), dict(model.spec.__dict__[name]))
            (tmp / name / "config.json").write_text(json.dumps(config, indent=2))
            save_state(component.state_dict(), tmp / name, DIFFUSERS_STEM, max_shard_bytes)
        if encoder.kind == "patch":
            folder = tmp / "context_encoder"
            folder.mkdir()
            (folder / "config.json").write_text(json.dumps({"kind": "patch", **encoder.config}, indent=2))
            save_state(encoder.state_dict(), folder, TRANSFORMERS_STEM, max_shard_bytes)
        else:
            folder = tmp / "image_encoder"
            encoder.model.config.save_pretrained(str(folder))
            save_state(encoder.model.state_dict(), folder, TRANSFORMERS_STEM, max_shard_bytes)
        save_file({"text_context": model.text_context.detach().cpu().contiguous()}, str(tmp / "text_context.safetensors"))
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_checkpoint(path: Path):
    """A cleanplate checkpoint folder -> :class:`~.model.UnderEraser`."""
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from safetensors.torch import load_file

    from .model import UnderEraser
    from .transformer import UnderEraserTransformer

    index = read_json(path / "model_index.json")
    wan = load_diffusers_component(WanTransformer3DModel, path / "transformer")
    vae = load_diffusers_component(AutoencoderKLWan, path / "vae")
    encoder = load_context_encoder(path)
    text = load_file(str(path / "text_context.safetensors"))["text_context"]
    transformer = UnderEraserTransformer(wan, int(index["text_len"]), encoder.num_tokens)
    return UnderEraser(transformer, vae, encoder, text)


def is_checkpoint(path: Path) -> bool:
    index = path / "model_index.json"
    return index.exists() and read_json(index).get("_class_name") == FORMAT


def load_model(model: str | os.PathLike | None, clip: str | os.PathLike | None = None):
    """Open ``model``: a cleanplate checkpoint, or a Wan2.1 / Fun-InP folder (diffusers or original layout).

    ``clip`` is a CLIP vision model folder to use when a Wan folder carries none.
    """
    if model is None:
        raise InputError("-O model", NO_MODEL)
    path = Path(model).expanduser()
    if not path.exists():
        raise InputError(path, "does not exist",
                         "give a cleanplate checkpoint folder or a Wan2.1/Wan2.1-Fun-InP directory")
    if path.is_dir() and is_checkpoint(path):
        log.info("loading cleanplate checkpoint %s", path)
        return load_checkpoint(path)
    from .wan_layout import load_wan

    return load_wan(path, Path(clip).expanduser() if clip else None)
