"""The training configuration: one typed dataclass per section, loaded from YAML.

A config file holds the sections below; every key is optional and unknown keys are refused with
the list of valid ones. Paths are relative to the working directory.

.. code-block:: yaml

    out_dir: runs/toy            # checkpoints, loss log and plot; default runs/<config name>
    steps: 200
    requires: []                 # configs trained before this one (e.g. a VAE: stage 1)
    export: null                 # when done, write the trained model (or VAE) folder here
    data:      {kind: toy, frames: 9, height: 32, width: 32, batch_size: 2}
    model:     {kind: toy, options: {dim: 32, depth: 2}}
    oird:      {weight: 0.1, block: null, delta: 0.1, teacher: null}
    keyframes: {probability: 1.0, min_stride: 2, max_stride: 10}
    optim:     {lr: 1.0e-4, grad_accum: 1, ema_decay: 0.999}
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import InputError

BUNDLED = Path(__file__).resolve().parents[1] / "configs"


@dataclass
class DataConfig:
    """Where training pairs come from and the clip shape they are cut to."""

    kind: str = "toy"  # toy | folder | python | synth (see cleanplate.train.data.SOURCES)
    path: Optional[str] = None  # folder: the pairs folder; python: "package.module:function"
    options: dict = field(default_factory=dict)  # keyword arguments for the source
    frames: int = 9  # frames a clip; 1 + 4k fits a Wan-style causal VAE
    height: int = 32
    width: int = 32
    batch_size: int = 2  # clips a micro-batch; a step sees batch_size * optim.grad_accum clips


@dataclass
class ModelConfig:
    """Which trainable model to build (see cleanplate.train.models)."""

    kind: str = "toy"
    options: dict = field(default_factory=dict)  # keyword arguments for the model factory


@dataclass
class OIRDConfig:
    """Object-induced relation distillation (UnderEraser, eqs. 1-4)."""

    weight: float = 0.1  # lambda in L = L_fm + lambda * L_oird; 0 switches OIRD off
    block: Optional[int] = None  # 0-based index of the DiT block read; None = half depth (15 of 30)
    delta: float = 0.1  # eq. 1 threshold on the RGB distance |V_ori - V_gt| in [0, 1]
    teacher: Optional[str] = None  # local DINOv2 folder; None = built-in colour/gradient features
    head_dim: int = 256  # width of the trainable MLP on the teacher's features
    given_side: bool = True  # use a sample's own side-effect mask when it has one, else eqs. 1-2


@dataclass
class KeyframeConfig:
    """Keyframe training (UnderEraser, sec. 3.4): every n-th frame shown as ground truth."""

    probability: float = 1.0  # share of clips that get keyframes; 0 switches it off
    min_stride: int = 2
    max_stride: int = 10


@dataclass
class OptimConfig:
    """AdamW with linear warm-up, gradient accumulation, clipping and an EMA of the weights."""

    lr: float = 1e-4
    weight_decay: float = 0.0
    betas: tuple = (0.9, 0.999)
    warmup_steps: int = 0
    grad_accum: int = 1  # micro-batches a step: larger batches at the memory cost of one
    grad_clip: float = 1.0  # max global gradient norm; 0 = no clipping
    ema_decay: float = 0.999


@dataclass
class TrainConfig:
    """Everything a training run needs; ``load_config(path)`` builds one from YAML."""

    out_dir: Optional[str] = None  # None: runs/<config file name>, or runs/train
    steps: int = 100
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (bf16 autocast on GPU, fp32 on CPU) | bf16 | fp32
    timesteps: str = "uniform"  # how t is drawn: uniform | logit_normal
    deterministic: bool = False  # deterministic GPU kernels: bit-for-bit resume on GPU, some speed lost
    checkpoint_every: int = 500
    keep_checkpoints: int = 2  # older checkpoints are deleted
    shard_mb: float = 16.0  # no checkpoint file is larger than this
    threads: Optional[int] = None  # torch CPU threads (process-wide); None: torch's default
    requires: list = field(default_factory=list)  # configs trained first (e.g. the VAE), each skipped when complete
    export: Optional[str] = None  # when done, also write the trained model here (cleanplate.train.export)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    oird: OIRDConfig = field(default_factory=OIRDConfig)
    keyframes: KeyframeConfig = field(default_factory=KeyframeConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    source: Optional[str] = None  # the file this was loaded from, for messages

    def check(self) -> None:
        """Refuse values no run can use, naming the setting and the rule."""
        rules = [
            ("steps", self.steps >= 1, "must be >= 1"),
            ("checkpoint_every", self.checkpoint_every >= 1, "must be >= 1"),
            ("keep_checkpoints", self.keep_checkpoints >= 1, "must be >= 1"),
            ("shard_mb", self.shard_mb >= 0.01, "must be >= 0.01"),
            ("threads", self.threads is None or self.threads >= 1, "must be >= 1 or null"),
            ("requires", all(isinstance(r, str) for r in self.requires), "must be a list of config names or paths"),
            ("device", self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
             "must be auto, cpu, cuda or cuda:N"),
            ("precision", self.precision in ("auto", "bf16", "fp32"), "must be auto, bf16 or fp32"),
            ("timesteps", self.timesteps in ("uniform", "logit_normal"), "must be uniform or logit_normal"),
            ("data.frames", self.data.frames >= 1, "must be >= 1"),
            ("data.height", self.data.height >= 8, "must be >= 8"),
            ("data.width", self.data.width >= 8, "must be >= 8"),
            ("data.batch_size", self.data.batch_size >= 1, "must be >= 1"),
            ("oird.weight", self.oird.weight >= 0, "must be >= 0"),
            ("oird.delta", 0 < self.oird.delta < 3 ** 0.5, "must be in (0, sqrt 3)"),
            ("keyframes.probability", 0 <= self.keyframes.probability <= 1, "must be in [0, 1]"),
            ("keyframes.min_stride", 2 <= self.keyframes.min_stride <= self.keyframes.max_stride,
             "must be >= 2 and <= keyframes.max_stride"),
            ("optim.lr", self.optim.lr > 0, "must be > 0"),
            ("optim.grad_accum", self.optim.grad_accum >= 1, "must be >= 1"),
            ("optim.ema_decay", 0 <= self.optim.ema_decay < 1, "must be in [0, 1)"),
        ]
        for name, ok, rule in rules:
            if not ok:
                value = _get(self, name)
                raise InputError(f"{self.source or 'config'}: {name}={value!r}", rule)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("source")
        out["optim"]["betas"] = list(out["optim"]["betas"])
        return out


def _get(obj, dotted: str):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _accepts(hint, value) -> bool:
    """Whether ``value`` (from YAML) fits the type ``hint`` (numbers widen: an int is a float)."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_accepts(h, value) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is tuple:
        return isinstance(value, (list, tuple))
    return isinstance(value, hint)


def from_dict(values: dict, cls: type = TrainConfig, where: str = "config", prefix: str = "") -> Any:
    """Build ``cls`` from a nested dict, refusing unknown keys and values of the wrong type."""
    if not isinstance(values, dict):
        raise InputError(where, f"section '{prefix or 'top level'}' must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise InputError(f"{where}: {name}", "is not a setting", f"valid here: {', '.join(fields)}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = from_dict(value or {}, hint, where, f"{name}.")
            continue
        if not _accepts(hint, value):
            raise InputError(f"{where}: {name}={value!r}", f"must be {_describe(hint)}")
        if hint is float and value is not None:
            value = float(value)
        if hint is tuple:
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _describe(hint) -> str:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if args:
        return " or ".join(a.__name__ for a in args) + " (or null)"
    return {float: "a number", int: "an integer", bool: "true or false", str: "a string",
            dict: "a mapping", tuple: "a list", list: "a list"}.get(hint, getattr(hint, "__name__", str(hint)))


def resolve_config_path(name: str | os.PathLike) -> Path:
    """A config path, or the name of a bundled config (``toy`` -> ``cleanplate/configs/toy.yaml``)."""
    path = Path(name)
    if path.is_file():
        return path
    for candidate in (BUNDLED / f"{name}.yaml", BUNDLED / str(name)):
        if candidate.is_file():
            return candidate
    bundled = ", ".join(sorted(p.stem for p in BUNDLED.glob("*.yaml")))
    raise InputError(path, "does not exist", f"give a YAML config file or a bundled config name ({bundled})")


def load_config(name: str | os.PathLike) -> TrainConfig:
    """Read a YAML config (or a bundled one by name) and check it."""
    try:
        import yaml
    except ModuleNotFoundError:
        raise InputError("training", "needs PyYAML", "pip install 'cleanplate[diffusion]'") from None
    path = resolve_config_path(name)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise InputError(path, f"is not valid YAML ({str(err).splitlines()[0]})", "fix the syntax") from None
    config = from_dict(values, TrainConfig, str(path))
    config.source = str(path)
    if config.out_dir is None:
        config.out_dir = str(Path("runs") / path.stem)
    config.check()
    return config
