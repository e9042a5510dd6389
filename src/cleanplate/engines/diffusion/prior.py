"""Prior injection (DiffuEraser, Li et al. 2025): start the denoiser from another engine's result.

The prior (by default the ``propagate`` engine: optical-flow video completion) is encoded to a
latent ``x0`` and pushed along the flow-matching path to noise level ``s``,
``x_s = (1 - s) x0 + s * noise``; denoising then runs from ``s`` to 0. ``s = 1`` ignores the prior,
``s = 0`` returns it unchanged. Propagation gets the pixels right where they were seen in other
frames; the diffusion model then fixes what propagation cannot: never-seen regions, blur, seams.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from ...clip import Clip


def noise_to_level(x0, noise, sigma: float):
    """``(1 - sigma) * x0 + sigma * noise``: a point on the rectified-flow path."""
    return (1.0 - sigma) * x0 + sigma * noise


def prior_stream(clip: Clip, engine: str) -> Callable[[], Iterator[np.ndarray]]:
    """A factory of fresh streams of ``engine``'s fill of ``clip``, ``(H, W, 3) uint8`` per frame."""
    from .. import get_engine

    engine_obj = get_engine(engine)()
    return lambda: iter(engine_obj.fill(clip))
