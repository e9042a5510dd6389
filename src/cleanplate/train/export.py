"""From a training run to a folder the diffusion engine (or the next training stage) loads.

- :func:`export_vae`: a ``wan-vae`` run -> a diffusers ``AutoencoderKLWan`` folder (``config.json``
  + weights), with the latent's per-channel mean and spread measured on the run's data and stored
  as ``latents_mean`` / ``latents_std``, so the engine and stage 2 normalise latents to ~N(0, 1).
- :func:`export_model`: an ``undereraser`` run -> a cleanplate model folder
  (:func:`cleanplate.engines.diffusion.weights.save_model`), EMA weights by default, plus the
  working size the model was trained at (``model_index.json`` ``defaults``: ``resolution``, the short
  side, and ``window``, the frames a clip), and the training record in ``training/``: each stage's
  ``loss.jsonl``, ``loss.png``, ``run.json`` and config.

:func:`export_run` picks one by the run's model kind; ``export: PATH`` in a config calls it when the
run is done.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

from ..errors import InputError
from .checkpoint import denoiser_weights
from .config import TrainConfig, from_dict, load_config
from .models import build_model, objective_of

log = logging.getLogger(__name__)

RECORD_FILES = ("loss.jsonl", "loss.png", "run.json")


def run_config(run_dir: str | os.PathLike) -> TrainConfig:
    """The config a run was trained with (from its ``run.json``)."""
    path = Path(run_dir) / "run.json"
    if not path.is_file():
        raise InputError(run_dir, "is not a training run (no run.json)", "give the out_dir of a cleanplate train run")
    info = json.loads(path.read_text())
    config = from_dict(info["config"], TrainConfig, str(path))
    config.source = info.get("source")
    return config


def _weights(run_dir: Path, which: str):
    if which == "init":
        return None
    if which not in ("ema", "raw"):
        raise ValueError(f"weights must be ema, raw or init, got {which!r}")
    return denoiser_weights(run_dir, ema=which == "ema")


def _replace(tmp: Path, folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return folder


def export_vae(run_dir: str | os.PathLike, folder: str | os.PathLike, samples: int = 8, weights: str = "ema") -> Path:
    """Write a ``wan-vae`` run's VAE as a diffusers folder, latent statistics measured on ``samples`` clips."""
    from ..engines.diffusion.weights import DIFFUSERS_STEM, diffusers_config, save_state
    from .autoencoder import latent_stats
    from .data import TrainStream, build_source, collate
    from .wrapper import to_torch

    run_dir, folder = Path(run_dir), Path(folder)
    config = run_config(run_dir)
    vae, _ = build_model(config.model)
    state = _weights(run_dir, weights)
    if state is not None:
        vae.load_state_dict(state)
    vae.eval()
    stream = TrainStream(build_source(config.data), config)
    videos = (to_torch(collate([stream.sample(k)]), "cpu")["gt"] for k in range(samples))
    mean, std = latent_stats(vae, videos)
    vae.register_to_config(latents_mean=mean, latents_std=std)
    log.info("VAE latent statistics over %d clips: mean %s, std %s", samples,
             [round(m, 3) for m in mean], [round(s, 3) for s in std])
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    plain = {k: v for k, v in dict(vae.config).items() if not k.startswith("_")}
    (tmp / "config.json").write_text(json.dumps(diffusers_config(type(vae), plain), indent=2))
    save_state(vae.state_dict(), tmp, DIFFUSERS_STEM)
    copy_record(run_dir, config, tmp / "training")
    return _replace(tmp, folder)


def export_model(run_dir: str | os.PathLike, folder: str | os.PathLike, weights: str = "ema") -> Path:
    """Write an ``undereraser`` run as a cleanplate model folder the diffusion engine loads.

    ``weights``: ``ema`` (default), ``raw`` (the optimiser's last weights) or ``init`` (the untrained
    initialisation, same seed: the baseline a trained model is compared with).
    """
    from ..engines.diffusion.model import UnderEraser
    from ..engines.diffusion.weights import save_model

    run_dir, folder = Path(run_dir), Path(folder)
    config = run_config(run_dir)
    if config.model.kind != "undereraser":
        raise InputError(run_dir, f"trained model kind {config.model.kind!r}", "export_model takes undereraser runs")
    denoiser, codec = build_model(config.model)
    state = _weights(run_dir, weights)
    if state is not None:
        denoiser.load_state_dict(state)
    model = UnderEraser(denoiser.transformer, codec.vae, denoiser.context_encoder, denoiser.text_context).eval()
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    save_model(model, tmp, overwrite=True)
    try:
        index_path = tmp / "model_index.json"
        index = json.loads(index_path.read_text())
        index["defaults"] = {"resolution": min(config.data.height, config.data.width), "window": config.data.frames}
        index["trained"] = {"weights": weights, "steps": config.steps if weights != "init" else 0}
        index_path.write_text(json.dumps(index, indent=2))
        copy_record(run_dir, config, tmp / "training")
        return _replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def copy_record(run_dir: Path, config: TrainConfig, dest: Path) -> None:
    """Copy a run's loss log, plot, run.json and config to ``dest``; required stages' into ``dest/<name>/``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in RECORD_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, dest / name)
    if config.source and Path(config.source).is_file():
        shutil.copy2(config.source, dest / Path(config.source).name)
    for required in config.requires:
        stage = load_config(required)
        copy_record(Path(stage.out_dir), stage, dest / Path(stage.source).stem)


def export_run(run_dir: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Export by the run's objective: a VAE folder for ``wan-vae``, a model folder for ``undereraser``."""
    config = run_config(run_dir)
    if objective_of(config.model) == "autoencoder":
        return export_vae(run_dir, folder)
    return export_model(run_dir, folder)
