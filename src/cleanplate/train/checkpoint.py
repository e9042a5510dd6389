"""Checkpoints: tensors in safetensors shards no larger than a limit, the rest in ``state.json``.

A checkpoint is a folder ``OUT/checkpoints/step-0000200/``::

    tensors-00001-of-00003.safetensors   flat tensor dict, packed in order, each file <= shard_bytes
    ...
    state.json                           step, data position, RNG states, optimiser settings,
                                         which tensor lies in which file, the config

A tensor larger than a shard is split into flat pieces (``name@0``, ``name@1``, ...) and joined
again on load. The folder is written under a temporary name and renamed into place, and
``OUT/checkpoints/latest`` names the newest complete one, so an interrupted save never leaves a
checkpoint that looks whole.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

HEADER_BYTES_PER_TENSOR = 128  # generous: the JSON header entry of one tensor, beyond its name
FORMAT = 1


def _pieces(name: str, tensor: torch.Tensor, budget: int) -> list[tuple[str, torch.Tensor]]:
    """``tensor`` as one piece, or split flat into pieces of at most ``budget`` bytes."""
    tensor = tensor.detach().contiguous()
    size = tensor.numel() * tensor.element_size()
    if size <= budget:
        return [(name, tensor.clone())]
    per = max(1, budget // tensor.element_size())
    flat = tensor.reshape(-1)
    return [(f"{name}@{i}", flat[a:a + per].clone()) for i, a in enumerate(range(0, flat.numel(), per))]


def pack_shards(tensors: dict[str, torch.Tensor], shard_bytes: int) -> tuple[list[dict], dict]:
    """Greedy packing into shards of at most ``shard_bytes`` each (header included).

    Returns ``(shards, split)``: a list of tensor dicts, and ``{name: {"shape", "pieces"}}`` for
    the tensors that were split.
    """
    if shard_bytes < 4096:
        raise ValueError(f"shard_bytes must be >= 4096, got {shard_bytes}")
    shards: list[dict] = [{}]
    used = 8 + 64  # length prefix and header braces / metadata
    split = {}
    for name, tensor in tensors.items():
        overhead = len(name) + 16 + HEADER_BYTES_PER_TENSOR
        pieces = _pieces(name, tensor, shard_bytes - 8 - 64 - overhead)
        if len(pieces) > 1:
            split[name] = {"shape": list(tensor.shape), "pieces": len(pieces)}
        for piece_name, piece in pieces:
            cost = piece.numel() * piece.element_size() + len(piece_name) + HEADER_BYTES_PER_TENSOR
            if shards[-1] and used + cost > shard_bytes:
                shards.append({})
                used = 8 + 64
            shards[-1][piece_name] = piece
            used += cost
    return shards, split


def save_checkpoint(folder: str | os.PathLike, tensors: dict[str, torch.Tensor], state: dict,
                    shard_bytes: int = 16 * 2 ** 20) -> Path:
    """Write ``tensors`` (sharded) and ``state`` (JSON-able) to ``folder``, atomically."""
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shards, split = pack_shards({k: v.cpu() for k, v in tensors.items()}, shard_bytes)
    where = {}
    for i, shard in enumerate(shards):
        file = f"tensors-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(tmp / file), metadata={"format": "pt"})
        size = (tmp / file).stat().st_size
        if size > shard_bytes:  # the packing's header estimate was too small: never ship it
            raise RuntimeError(f"{file} is {size} bytes, over the {shard_bytes}-byte limit")
        where.update({name: file for name in shard})
    meta = {"format": FORMAT, "files": where, "split": split, **state}
    (tmp / "state.json").write_text(json.dumps(meta, indent=1))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def load_checkpoint(folder: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[dict, dict]:
    """``(tensors, state)`` as given to :func:`save_checkpoint`."""
    folder = Path(folder)
    meta = json.loads((folder / "state.json").read_text())
    pieces: dict[str, torch.Tensor] = {}
    for file in sorted(set(meta["files"].values())):
        pieces.update(load_file(str(folder / file), device=str(device)))
    tensors = {}
    for name, info in meta["split"].items():
        flat = torch.cat([pieces.pop(f"{name}@{i}") for i in range(info["pieces"])])
        tensors[name] = flat.reshape(info["shape"])
    tensors.update(pieces)
    state = {k: v for k, v in meta.items() if k not in ("format", "files", "split")}
    return tensors, state


def checkpoint_dir(out_dir: str | os.PathLike, step: int) -> Path:
    return Path(out_dir) / "checkpoints" / f"step-{step:07d}"


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    pointer = Path(out_dir) / "checkpoints" / "latest"
    if not pointer.is_file():
        return None
    folder = pointer.parent / pointer.read_text().strip()
    return folder if (folder / "state.json").is_file() else None


def mark_latest(folder: Path, keep: int) -> None:
    """Point ``latest`` at ``folder`` and delete all but the ``keep`` newest checkpoints."""
    root = folder.parent
    tmp = root / "latest.tmp"
    tmp.write_text(folder.name + "\n")
    os.replace(tmp, root / "latest")
    done = sorted(p for p in root.glob("step-*") if p.is_dir() and not p.name.endswith(".partial"))
    for old in done[:max(0, len(done) - keep)]:
        if old != folder:
            shutil.rmtree(old)


def denoiser_weights(path: str | os.PathLike, ema: bool = True) -> dict[str, torch.Tensor]:
    """The trained denoiser's ``state_dict`` from a run folder (its latest checkpoint) or a
    checkpoint folder: the EMA weights by default, the raw ones with ``ema=False``."""
    path = Path(path)
    folder = latest_checkpoint(path) or path
    if not (folder / "state.json").is_file():
        raise FileNotFoundError(f"{path} is neither a training run nor a checkpoint folder")
    tensors, _ = load_checkpoint(folder)
    prefix = "ema." if ema else "denoiser."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def shard_limit(shard_mb: float) -> int:
    return int(math.floor(shard_mb * 2 ** 20))
