"""Flow-matching sampling schedules (rectified flow, as trained in Wan2.1).

The latent path is ``x_sigma = (1 - sigma) x0 + sigma * noise`` and the network predicts the
velocity ``noise - x0``. Noise levels are spread evenly in ``t`` and then *shifted*,
``sigma = shift * t / (1 + (shift - 1) t)`` (SD3, Esser et al. 2024, eq. 23), which spends more
steps at high noise; Wan2.1 uses ``shift = 3`` at 480p and ``5`` at 720p.

The steps themselves are diffusers' schedulers, which know nothing about networks:
``euler`` is ``FlowMatchEulerDiscreteScheduler`` (first order), ``unipc`` is
``UniPCMultistepScheduler`` with flow sigmas (Zhao et al. 2023, UniPC, predictor-corrector; what
Wan2.1 samples with). A schedule may start below pure noise (:func:`set_schedule` with
``strength < 1``): that is how a prior is refined rather than replaced.
"""

from __future__ import annotations

import numpy as np

NUM_TRAIN_TIMESTEPS = 1000


def make_scheduler(name: str, shift: float):
    """A fresh diffusers scheduler: ``"euler"`` or ``"unipc"``, with the given shift."""
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

    if name == "euler":
        return FlowMatchEulerDiscreteScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=shift)
    if name == "unipc":
        return UniPCMultistepScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, prediction_type="flow_prediction",
                                       use_flow_sigmas=True, flow_shift=shift)
    raise ValueError(f"unknown sampler {name!r}: use euler or unipc")


def shift_sigma(t, shift: float):
    """``t`` in [0, 1] -> shifted noise level ``sigma``."""
    return shift * t / (1 + (shift - 1) * t)


def unshift_sigma(sigma, shift: float):
    """Inverse of :func:`shift_sigma`."""
    return sigma / (shift - (shift - 1) * sigma)


def base_sigmas(steps: int, strength: float, shift: float) -> np.ndarray:
    """``steps`` unshifted levels, evenly spaced from the one that shifts to ``strength`` down towards 0."""
    top = unshift_sigma(strength, shift)
    return np.linspace(top, 0.0, steps + 1)[:-1].astype(np.float64)


def set_schedule(scheduler, steps: int, strength: float = 1.0, device=None):
    """Set ``steps`` steps on ``scheduler`` whose first noise level is ``strength`` (then shifted levels to 0).

    Returns the timesteps to loop over. ``scheduler.sigmas[0]`` is the first noise level (UniPC
    nudges exactly 1 to ``1 - 1e-6``).
    """
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"strength must be in (0, 1], got {strength}")
    shift = scheduler.config.get("flow_shift", None) or scheduler.config.get("shift", 1.0)
    scheduler.set_timesteps(sigmas=base_sigmas(steps, strength, shift), device=device)
    return scheduler.timesteps
