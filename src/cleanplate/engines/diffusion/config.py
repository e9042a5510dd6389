"""The diffusion engine's options: what a user may pass as ``-O key=value``.

Nothing here imports torch, so the engine registers (and ``--help`` runs) without it.
"""

from __future__ import annotations

import dataclasses

from ...errors import InputError

SAMPLERS = ("unipc", "euler")
DEVICES = ("auto", "cuda", "cpu")
DTYPES = ("auto", "bfloat16", "float16", "float32")


@dataclasses.dataclass
class DiffusionConfig:
    """Options of the ``diffusion`` engine (UnderEraser on a Wan2.1-style video DiT)."""

    # A cleanplate checkpoint folder, or a Wan2.1 / Wan2.1-Fun-InP folder (diffusers or original layout);
    # None: the model shipped inside the package (cleanplate/models/), when there is one.
    model: str | None = None
    # A transformers CLIPVisionModel folder for the framewise context, when the model folder has none.
    clip: str | None = None
    steps: int = 30  # denoising steps; time grows linearly with them
    sampler: str = "unipc"  # "unipc" (multistep, fewer steps) or "euler" (flow-matching Euler)
    shift: float = 3.0  # flow-matching timestep shift: Wan2.1 uses 3 at 480p, 5 at 720p
    window: int = 0  # W, frames the model sees at once (1 + 4k); memory grows with it. 0: the model's own, else 81
    resolution: int = 0  # short side the model works at (rounded to 16; never upscales). 0: the model's own, else 480
    prior: str = "none"  # "propagate" (or another engine's name): start from its result
    strength: float = 0.6  # with a prior: noise level to start from; 0 returns the prior, 1 ignores it
    second_pass: bool = False  # re-denoise from noise warped along the first result's flow; doubles time
    seed: int = 0
    device: str = "auto"  # "cuda" when available, else "cpu"
    dtype: str = "auto"  # transformer dtype: bfloat16 on CUDA, float32 on CPU (the VAE stays float32)
    offload: bool = False  # keep components in CPU memory, move each to the GPU only while it runs: less GPU memory, slower
    vae_tiling: bool = False  # encode/decode in spatial tiles: for 720p and above on small GPUs, a little slower

    def check(self) -> None:
        """Raise :class:`InputError` naming the first option out of range."""
        if self.steps < 1:
            raise InputError(f"-O steps={self.steps}", "must be at least 1")
        if self.sampler not in SAMPLERS:
            raise InputError(f"-O sampler={self.sampler}", "unknown sampler", f"use one of: {', '.join(SAMPLERS)}")
        if self.shift <= 0:
            raise InputError(f"-O shift={self.shift}", "must be > 0", "Wan2.1 uses 3 at 480p, 5 at 720p")
        if self.window != 0 and (self.window < 5 or (self.window - 1) % 4):
            raise InputError(f"-O window={self.window}", "must be 1 + 4k frames, at least 5", "e.g. 21, 49 or 81")
        if self.resolution != 0 and self.resolution < 16:
            raise InputError(f"-O resolution={self.resolution}", "must be at least 16 pixels (or 0: the model's own)")
        if not 0.0 <= self.strength <= 1.0:
            raise InputError(f"-O strength={self.strength}", "must be between 0 and 1")
        if self.prior == "diffusion":
            raise InputError("-O prior=diffusion", "the diffusion engine cannot be its own prior", "use propagate")
        if self.device not in DEVICES:
            raise InputError(f"-O device={self.device}", "unknown device", f"use one of: {', '.join(DEVICES)}")
        if self.dtype not in DTYPES:
            raise InputError(f"-O dtype={self.dtype}", "unknown dtype", f"use one of: {', '.join(DTYPES)}")
