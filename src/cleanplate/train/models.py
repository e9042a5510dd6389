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

The diffusion engine registers its Wan2.1-style DiT here with :func:`register_model`.
"""

from __future__ import annotations

import inspect
from typing import Callable

from ..errors import InputError
from .config import ModelConfig

MODELS: dict[str, Callable] = {}


def register_model(name: str):
    """Decorator: make a ``factory(**options) -> (denoiser, codec)`` available as ``model.kind``."""
    def decorator(factory: Callable) -> Callable:
        MODELS[name] = factory
        return factory
    return decorator


@register_model("toy")
def _toy(dim: int = 32, depth: int = 2, heads: int = 2):
    """The toy denoiser of :mod:`cleanplate.train.toy` (torch imported only when built)."""
    from .toy import build_toy

    return build_toy(dim, depth, heads)


def build_model(config: ModelConfig):
    """``(denoiser, codec)`` for ``config.kind``, built with ``config.options``."""
    if config.kind not in MODELS:
        raise InputError(f"model.kind={config.kind!r}", "is not a trainable model",
                         f"choose one of: {', '.join(sorted(MODELS))}")
    factory = MODELS[config.kind]
    try:
        inspect.signature(factory).bind(**config.options)
    except TypeError as err:
        raise InputError(f"model.options of {config.kind!r}", f"are not accepted ({err})",
                         "check the option names in docs/training.md") from None
    return factory(**config.options)
