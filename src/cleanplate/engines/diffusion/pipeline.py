"""The denoising loop, written out in numbered steps (diffusers-style).

:class:`UnderEraserPipeline` removes the object from one clip of at most one window: frames and
quadmasks in, cleaned frames out, all at the working resolution. Longer clips are cut into windows
by :mod:`.keyframes`; resizing to and from the native size is the engine's job.
"""

from __future__ import annotations

import contextlib
import logging

import numpy as np
import torch

from ...progress import ProgressFn, report
from . import conditioning as cond
from .context import encode_context
from .prior import noise_to_level
from .sampling import make_scheduler, set_schedule
from .warped_noise import warped_noise_like

log = logging.getLogger(__name__)

MULTIPLE = cond.SPATIAL * 2  # VAE 8x times the transformer's 2x2 patch


def keep_fp32(module: torch.nn.Module, patterns) -> None:
    """Put back in float32 the parameters whose dotted name holds one of ``patterns`` (norms, embeddings)."""
    for name, param in module.named_parameters():
        if any(p in name.split(".") for p in patterns):
            param.data = param.data.float()


class UnderEraserPipeline:
    """Run an :class:`~.model.UnderEraser` on a clip.

    Args:
        model: the components.
        device: where to compute.
        dtype: the transformer's dtype (bfloat16 on CUDA); the VAE and context encoder stay float32.
        offload: keep components on the CPU and move each to ``device`` only while it runs.
        vae_tiling: encode and decode in spatial tiles (diffusers' tiling), for 720p and above.
    """

    def __init__(self, model, device="cpu", dtype=torch.float32, offload: bool = False, vae_tiling: bool = False):
        self.model = model.eval()
        self.device = torch.device(device)
        self.offload = offload and self.device.type != "cpu"
        model.transformer.to(dtype=dtype)
        keep_fp32(model.transformer.wan, model.transformer.wan._keep_in_fp32_modules or ())
        if vae_tiling:
            model.vae.enable_tiling()
        if not self.offload:
            model.to(self.device)

    @contextlib.contextmanager
    def _on_device(self, module: torch.nn.Module):
        if not self.offload:
            yield module
            return
        module.to(self.device)
        try:
            yield module
        finally:
            module.to("cpu")
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def check_inputs(self, frames: np.ndarray, masks: np.ndarray, prior: np.ndarray | None, strength: float, steps: int):
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if masks.shape != frames.shape[:3] or masks.dtype != np.uint8:
            raise ValueError(f"masks must be {frames.shape[:3]} uint8 quadmasks, got {masks.shape} {masks.dtype}")
        if frames.shape[1] % MULTIPLE or frames.shape[2] % MULTIPLE:
            raise ValueError(f"frame size {frames.shape[2]}x{frames.shape[1]} must be a multiple of {MULTIPLE}")
        if prior is not None and prior.shape != frames.shape:
            raise ValueError(f"prior must be {frames.shape}, got {prior.shape}")
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")

    @torch.no_grad()
    def __call__(
        self,
        frames: np.ndarray,
        masks: np.ndarray,
        prior: np.ndarray | None = None,
        strength: float = 1.0,
        steps: int = 30,
        sampler: str = "unipc",
        shift: float = 3.0,
        seed: int = 0,
        second_pass: bool = False,
        progress: ProgressFn | None = None,
    ) -> np.ndarray:
        """Cleaned frames ``(T, H, W, 3) uint8`` for frames ``(T, H, W, 3) uint8`` and quadmasks ``(T, H, W) uint8``.

        With a ``prior`` (same shape as ``frames``) denoising starts from it at noise level
        ``strength``; ``strength = 0`` returns the prior as it is.
        """
        model = self.model
        # 1. Check inputs.
        self.check_inputs(frames, masks, prior, strength, steps)
        if prior is not None and strength == 0.0:
            return prior.copy()
        if prior is None:
            strength = 1.0
        length = len(frames)

        # 2. Pad to the 1 + 4k frames the VAE encodes.
        padded = cond.vae_length(length)
        frames = cond.pad_frames(frames, padded)
        masks = cond.pad_frames(masks, padded)

        # 3. Encode the conditions: masked video latent, folded masks, framewise context, text.
        video = cond.frames_to_tensor(frames, self.device)
        known, affected = cond.mask_tensors(masks, self.device)
        masked = cond.masked_video(video, known)
        with self._on_device(model.vae):
            masked_latent = model.encode(masked)
            x0 = model.encode(cond.frames_to_tensor(cond.pad_frames(prior, padded), self.device)) \
                if prior is not None else None
        condition = cond.build_condition(masked_latent, known, affected)
        latent_frames = masked_latent.shape[2]
        with self._on_device(model.context_encoder):
            context = encode_context(model.context_encoder, masked, latent_frames)
        text = model.text_context.to(self.device)
        del video, masked
        report(progress, "encode", 1, 1)

        # 4-6. Prepare timesteps and latents, denoise.
        shape = tuple(masked_latent.shape)
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        latents = self._denoise(noise, x0, condition, context, text, strength, steps, sampler, shift, progress)

        # 7. Decode and cut back to the input length.
        with self._on_device(model.vae):
            out = cond.tensor_to_frames(model.decode(latents))
        report(progress, "decode", 1, 1)

        # 8. Second pass (VOID): noise warped along the first result's motion, the same conditions.
        if second_pass:
            noise = warped_noise_like(out, shape, seed + 1)
            latents = self._denoise(noise, x0, condition, context, text, strength, steps, sampler, shift, progress)
            with self._on_device(model.vae):
                out = cond.tensor_to_frames(model.decode(latents))
            report(progress, "decode", 1, 1)
        return out[:length]

    def _denoise(self, noise, x0, condition, context, text, strength, steps, sampler, shift, progress):
        """Steps 4-6: schedule, starting latent (noise, or the prior noised to ``strength``), the loop."""
        transformer = self.model.transformer
        # 4. Prepare timesteps.
        scheduler = make_scheduler(sampler, shift)
        timesteps = set_schedule(scheduler, steps, strength, device=self.device)
        # 5. Prepare latents.
        noise = noise.to(self.device, torch.float32)
        latents = noise if x0 is None else noise_to_level(x0.float(), noise, float(scheduler.sigmas[0]))
        # 6. Denoising loop.
        dtype = transformer.dtype
        condition, context, text = condition.to(dtype), context.to(dtype), text.to(dtype)
        with self._on_device(transformer):
            for i, t in enumerate(timesteps):
                timestep = t.expand(latents.shape[0]).to(self.device)
                velocity = transformer(latents.to(dtype), timestep, condition, context, text)
                latents = scheduler.step(velocity.float(), t, latents, return_dict=False)[0]
                report(progress, "denoise", i + 1, len(timesteps))
        return latents
