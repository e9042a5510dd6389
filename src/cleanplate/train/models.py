"""Trainable models, registered by name (``model.kind`` in the config).

A factory takes ``model.options`` as keyword arguments and returns ``(denoiser, codec)``:

``denoiser`` — an ``nn.Module``, the only part trained and checkpointed:
    - ``forward(x_t, t, cond) -> v``: latents ``(B, C, F, h, w)``, ``t`` ``(B,)`` in [0, 1]
      (rectified-flow time: 0 = data, 1 = noise), ``cond`` whatever ``codec.condition`` returns;
      returns the velocity, shaped like ``x_t``.
    - ``blocks``: its transformer blocks (an ``nn.ModuleList``); OIRD reads the output of one,
      hidden states ``(B, F * h' * w', C_hidden)`` (a tuple's first item is taken).
    - ``token_grid(latent_shape) -> (F, h', w')``: the token grid of those hidden states,
      flattened row-major (for a Wan DiT with patch (1, 2, 2): ``(F, h // 2, w // 2)``).

``codec`` — frozen, not checkpointed (e.g. the VAE and the conditioning layout):
    - ``encode(video) -> latents``: video ``(B, 3, T, H, W)`` float in [-1, 1].
    - ``condition(batch) -> cond``: from the torch batch of :func:`cleanplate.train.wrapper.to_torch`
      (masked input, mask channels, framewise context: whatever the denoiser takes).

Registered kinds: ``toy`` (:mod:`.toy`), ``undereraser`` (the diffusion engine's Wan2.1-style DiT,
:mod:`.undereraser`) and ``wan-vae`` (stage 1, the latent codec, :mod:`.autoencoder`). A kind names
its objective: ``flow_matching`` (the contract above) or ``autoencoder`` (the factory returns
``(vae, AutoencoderLoss)``).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Callable

from ..errors import InputError
from .config import ModelConfig

MODELS: dict[str, Callable | str] = {}  # a factory, or "module:function" imported when built
OBJECTIVES: dict[str, str] = {}


def register_model(name: str, objective: str = "flow_matching"):
    """Decorator: make a ``factory(**options) -> (denoiser, codec)`` available as ``model.kind``."""
    def decorator(factory: Callable) -> Callable:
        MODELS[name] = factory
        OBJECTIVES[name] = objective
        return factory
    return decorator


@register_model("toy")
def _toy(dim: int = 32, depth: int = 2, heads: int = 2):
    """The toy denoiser of :mod:`cleanplate.train.toy` (torch imported only when built)."""
    from .toy import build_toy

    return build_toy(dim, depth, heads)


# Kinds whose factories live beside their torch code: resolved when first built.
MODELS["undereraser"] = ".undereraser:build_undereraser"  # the diffusion engine's UnderEraser DiT
MODELS["wan-vae"] = ".autoencoder:build_vae"  # stage 1: a small Wan2.1-style VAE
OBJECTIVES["wan-vae"] = "autoencoder"


def _resolve(factory: Callable | str) -> Callable:
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        return getattr(importlib.import_module(module, __package__), attr)
    return factory


def objective_of(config: ModelConfig) -> str:
    """The objective ``config.kind`` trains with: ``flow_matching`` or ``autoencoder``."""
    return OBJECTIVES.get(config.kind, "flow_matching")


def build_model(config: ModelConfig):
    """``(denoiser, codec)`` for ``config.kind``, built with ``config.options``."""
    if config.kind not in MODELS:
        raise InputError(f"model.kind={config.kind!r}", "is not a trainable model",
                         f"choose one of: {', '.join(sorted(MODELS))}")
    factory = _resolve(MODELS[config.kind])
    try:
        inspect.signature(factory).bind(**config.options)
    except TypeError as err:
        raise InputError(f"model.options of {config.kind!r}", f"are not accepted ({err})",
                         "check the option names in docs/training.md") from None
    return factory(**config.options)
