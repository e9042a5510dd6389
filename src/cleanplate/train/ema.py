"""An exponential moving average of a model's weights: the weights to sample with after training."""

from __future__ import annotations

import torch
from torch import nn


class EMA:
    """``shadow <- decay * shadow + (1 - decay) * weights`` after every optimiser step.

    Holds a float32 copy of every floating-point parameter and buffer of ``model``; other buffers
    are copied as they are. ``state_dict()`` is shaped like the model's, so it loads into it.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() if v.is_floating_point() else v.detach().clone()
                       for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for key, value in model.state_dict().items():
            shadow = self.shadow[key]
            if value.is_floating_point():
                shadow.lerp_(value.float(), 1.0 - self.decay)
            else:
                shadow.copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:3]}")
        for key, value in state.items():
            self.shadow[key].copy_(value)
