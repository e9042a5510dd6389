"""What the training tests share: a config from a base with changes, and a run's losses on a fixed batch."""

import numpy as np
import torch

from cleanplate.train.config import TrainConfig, from_dict
from cleanplate.train.data import collate
from cleanplate.train.trainer import Run
from cleanplate.train.wrapper import to_torch


def fixed_batch_losses(run: Run, draws: int = 8) -> np.ndarray:
    """Mean ``(flow, oird)`` over ``draws`` fixed noise draws on the run's first sample."""
    batch = to_torch(collate([run.stream.sample(0)]), "cpu")
    values = []
    with torch.random.fork_rng():
        torch.manual_seed(1234)
        for _ in range(draws):
            _, parts = run.wrapper.loss(batch)
            values.append([parts["flow"].item(), parts["oird"].item()])
    return np.mean(values, axis=0)


def config_with(values: dict, changes: dict) -> TrainConfig:
    """``values`` (a config as a dict) with ``changes`` applied, one level deep for sections."""
    for key, value in changes.items():
        if isinstance(value, dict):
            values.setdefault(key, {}).update(value)
        else:
            values[key] = value
    return from_dict(values)
