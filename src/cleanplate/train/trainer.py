"""Train the diffusion engine: flow matching + OIRD with keyframe training (UnderEraser).

Run it::

    cleanplate train toy                    # the bundled tiny config: toy model, CPU, seconds
    cleanplate train my.yaml                # a run of your own; checkpoints and log in its out_dir
    cleanplate train my.yaml --resume       # continue from the latest checkpoint, bit for bit

or from Python: ``cleanplate.train.trainer.train(load_config("my.yaml"))``. Config keys are in
:mod:`cleanplate.train.config` and docs/training.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..progress import ProgressFn, report
from .checkpoint import checkpoint_dir, latest_checkpoint, load_checkpoint, mark_latest, save_checkpoint, shard_limit
from .config import TrainConfig, load_config
from .data import TrainStream, build_source
from .ema import EMA
from .log import LossLog, plot_log
from .models import build_model, objective_of
from .teacher import load_teacher
from .wrapper import FlowMatchingWrapper, to_torch

log = logging.getLogger(__name__)


def train(config: TrainConfig, resume: bool = False, progress: ProgressFn | None = None, source=None) -> Path:
    """Train until ``config.steps``; return the run folder. ``source`` replaces ``config.data``'s.

    The configs in ``config.requires`` are trained first (each resumed if unfinished, skipped if
    done); with ``config.export`` the trained model is written there at the end
    (:func:`cleanplate.train.export.export_run`).
    """
    for required in config.requires:
        train_stage(load_config(required), progress)
    run = Run(config, resume, source)
    wrapper, optimizer, ema, losses = run.wrapper, run.optimizer, run.ema, run.losses
    accum, params = config.optim.grad_accum, wrapper.trainable_parameters()
    batches = run.stream.batches(run.samples_seen)
    for step in range(run.step, config.steps):
        started = time.perf_counter()
        lr = learning_rate(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        for _ in range(accum):
            batch = to_torch(next(batches), run.device)
            with run.autocast():
                loss, parts = wrapper.loss(batch)
            (loss / accum).backward()
            for key, value in parts.items():
                totals[key] = totals.get(key, 0.0) + value.item() / accum
        grad_norm = torch.nn.utils.clip_grad_norm_(params, config.optim.grad_clip or float("inf"))
        optimizer.step()
        ema.update(wrapper.denoiser)
        run.step, run.samples_seen = step + 1, run.samples_seen + accum * config.data.batch_size
        losses.write({"step": run.step, **totals, "lr": lr, "grad_norm": float(grad_norm),
                      "samples": run.samples_seen, "seconds": round(time.perf_counter() - started, 4)})
        if run.step % config.checkpoint_every == 0 or run.step == config.steps:
            run.save()
        report(progress, "train", run.step, config.steps)
    if config.export:
        from .export import export_run

        log.info("exported %s", export_run(run.out_dir, config.export))
    return run.out_dir


def train_stage(config: TrainConfig, progress: ProgressFn | None = None) -> Path:
    """A required stage: trained if it has no run, resumed if unfinished, left as it is if done."""
    found = latest_checkpoint(config.out_dir)
    if found is not None and json.loads((found / "state.json").read_text())["step"] >= config.steps:
        log.info("stage %s is done (%s)", config.source, found)
        if config.export and not Path(config.export).exists():
            from .export import export_run

            export_run(config.out_dir, config.export)
        return Path(config.out_dir)
    return train(config, resume=found is not None, progress=progress)


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warm-up over ``optim.warmup_steps``, then constant ``optim.lr``."""
    warmup = config.optim.warmup_steps
    return config.optim.lr * min(1.0, (step + 1) / warmup) if warmup > 0 else config.optim.lr


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(config: TrainConfig) -> torch.device:
    if config.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device={config.device}", "no CUDA GPU is visible to torch", "use device: cpu or auto")
    return torch.device(config.device)


class Run:
    """Everything a run holds, built from the config, restored from a checkpoint, saved to one."""

    def __init__(self, config: TrainConfig, resume: bool, source=None):
        self.config = config
        self.out_dir = Path(config.out_dir or "runs/train")
        found = latest_checkpoint(self.out_dir)
        if resume and found is None:
            raise InputError(self.out_dir, "holds no checkpoint to resume", "run without --resume to start")
        if not resume and found is not None:
            raise InputError(self.out_dir, "already holds a training run",
                             "pass --resume to continue it, or set another out_dir")
        if config.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        if config.threads:
            torch.set_num_threads(config.threads)
        seed_everything(config.seed)
        self.device = resolve_device(config)
        self.bf16 = config.precision == "bf16" or (config.precision == "auto" and self.device.type == "cuda")
        denoiser, codec = build_model(config.model)
        self.teacher_name = None
        if objective_of(config.model) == "autoencoder":
            from .autoencoder import AutoencoderWrapper

            self.wrapper = AutoencoderWrapper(denoiser, codec).to(self.device)
        else:
            teacher = load_teacher(config.oird.teacher) if config.oird.weight > 0 else None
            self.teacher_name = getattr(teacher, "name", None)
            self.wrapper = FlowMatchingWrapper(denoiser, codec, config.oird, teacher, config.timesteps).to(self.device)
            if hasattr(codec, "to"):
                codec.to(self.device)
        o = config.optim
        self.optimizer = torch.optim.AdamW(self.wrapper.trainable_parameters(), lr=o.lr, betas=tuple(o.betas),
                                           weight_decay=o.weight_decay)
        self.ema = EMA(denoiser, o.ema_decay)
        self.stream = TrainStream(source if source is not None else build_source(config.data), config)
        self.losses = LossLog(self.out_dir / "loss.jsonl")
        self.step = self.samples_seen = 0
        if found is not None:
            self.restore(found)
        self.losses.truncate(self.step)
        self._describe(found)

    def autocast(self):
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _describe(self, resumed_from: Path | None) -> None:
        count = sum(p.numel() for p in self.wrapper.trainable_parameters())
        info = {"config": self.config.to_dict(), "source": self.config.source, "teacher": self.teacher_name, "device": str(self.device),
                "precision": "bf16" if self.bf16 else "fp32", "trainable_parameters": count,
                "resumed_from": str(resumed_from) if resumed_from else None, "torch": torch.__version__}
        (self.out_dir / "run.json").write_text(json.dumps(info, indent=1))
        log.info("training %s on %s (%s), %d trainable parameters, OIRD teacher: %s, from step %d",
                 self.config.model.kind, self.device, info["precision"], count, self.teacher_name, self.step)

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self) -> Path:
        tensors = {f"denoiser.{k}": v for k, v in self.wrapper.denoiser.state_dict().items()}
        tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        if self.wrapper.head is not None:
            tensors.update({f"head.{k}": v for k, v in self.wrapper.head.state_dict().items()})
        optim = self.optimizer.state_dict()
        scalars = {}
        for index, values in optim["state"].items():
            for name, value in values.items():
                if torch.is_tensor(value):
                    tensors[f"optim.{index}.{name}"] = value
                else:
                    scalars.setdefault(str(index), {})[name] = value
        tensors["rng.torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            tensors.update({f"rng.cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
        np_state = np.random.get_state()
        py_state = random.getstate()
        state = {
            "step": self.step, "samples_seen": self.samples_seen, "teacher": self.teacher_name,
            "optimizer": {"param_groups": optim["param_groups"], "scalars": scalars},
            "rng": {"python": [py_state[0], list(py_state[1]), py_state[2]],
                    "numpy": [np_state[0], np_state[1].tolist(), *map(_plain, np_state[2:])]},
            "config": self.config.to_dict(), "torch": torch.__version__,
        }
        folder = save_checkpoint(checkpoint_dir(self.out_dir, self.step), tensors, state,
                                 shard_limit(self.config.shard_mb))
        mark_latest(folder, self.config.keep_checkpoints)
        plot_log(self.losses.read(), self.out_dir / "loss.png", self.wrapper.parts)
        log.info("saved %s", folder)
        return folder

    def restore(self, folder: Path) -> None:
        tensors, state = load_checkpoint(folder)
        self._warn_changes(state)

        def section(prefix: str) -> dict:
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        self.wrapper.denoiser.load_state_dict(section("denoiser."))
        self.ema.load_state_dict(section("ema."))
        if self.wrapper.head is not None:
            self.wrapper.head.load_state_dict(section("head."))
        groups = state["optimizer"]["param_groups"]
        for group in groups:
            group["betas"] = tuple(group["betas"])
        optim_state: dict[int, dict] = {}
        for key, value in section("optim.").items():
            index, name = key.split(".", 1)
            optim_state.setdefault(int(index), {})[name] = value
        for index, values in state["optimizer"]["scalars"].items():
            optim_state.setdefault(int(index), {}).update(values)
        self.optimizer.load_state_dict({"state": optim_state, "param_groups": groups})
        torch.set_rng_state(tensors["rng.torch"])
        cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
        if cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda)
        version, values, gauss = state["rng"]["python"]
        random.setstate((version, tuple(values), gauss))
        kind, keys, pos, has_gauss, cached = state["rng"]["numpy"]
        np.random.set_state((kind, np.array(keys, np.uint32), pos, has_gauss, cached))
        self.step, self.samples_seen = state["step"], state["samples_seen"]
        log.info("resumed from %s at step %d", folder, self.step)

    def _warn_changes(self, state: dict) -> None:
        saved, now = _flatten(state.get("config", {})), _flatten(self.config.to_dict())
        changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k) and k != "steps")
        if changed:
            log.warning("config changed since the checkpoint (%s): the run will not match an uninterrupted one",
                        ", ".join(changed))
        if state.get("teacher") != self.teacher_name:
            log.warning("OIRD teacher changed since the checkpoint: %s -> %s", state.get("teacher"), self.teacher_name)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _flatten(values: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, dict) and key != "options":
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
