"""The ``diffusion`` engine: UnderEraser on a Wan2.1-style video DiT, behind the common interface.

The engine resizes the clip to the working resolution, runs keyframe-guided propagation
(:mod:`.keyframes`) over :class:`~.pipeline.UnderEraserPipeline` windows, and returns frames at the
native size (the API composites them inside the hole only). torch and diffusers are imported when
the engine first runs, so it registers, and ``cleanplate --help`` works, without them.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import logging
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ... import quadmask
from ...clip import Clip
from ...errors import InputError
from ...progress import ProgressFn, report
from .. import register
from ..base import Engine
from .config import DiffusionConfig
from .keyframes import keyframe_guided, plan_keyframes

log = logging.getLogger(__name__)

MULTIPLE = 16  # VAE 8x times the 2x2 patch


def working_size(width: int, height: int, resolution: int) -> tuple[int, int]:
    """``(w, h)`` the model works at: short side ``min(resolution, native)``, both multiples of 16, never upscaled."""
    scale = min(resolution, min(width, height)) / min(width, height)
    return (max(MULTIPLE, int(width * scale) // MULTIPLE * MULTIPLE),
            max(MULTIPLE, int(height * scale) // MULTIPLE * MULTIPLE))


def resize_quadmask(q: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a quadmask to ``size = (w, h)`` so that any covered pixel keeps its region (holes never shrink)."""
    if q.shape[::-1] == size:
        return q
    out = np.full(size[::-1], quadmask.KEEP, np.uint8)
    for region, level in ((quadmask.affected_region(q), quadmask.AFFECTED), (quadmask.object_region(q), quadmask.REMOVE)):
        covered = cv2.resize(region.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        out[covered] = level
    return out


def resize_frame(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if frame.shape[1::-1] == size:
        return frame
    shrink = size[0] < frame.shape[1]
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


@register
class DiffusionEngine(Engine):
    """UnderEraser: framewise-context video DiT with keyframe-guided propagation (see docs/diffusion.md)."""

    name = "diffusion"
    Config = DiffusionConfig
    install_hint = "pip install 'cleanplate[diffusion]'"

    def __init__(self, config=None, **options):
        super().__init__(config, **options)
        self.config.check()
        model = self.config.model
        if model is None:
            from .shipped import shipped_model
            from .weights import NO_MODEL

            shipped = shipped_model()
            if shipped is None:
                raise InputError("-O model", NO_MODEL)
            log.info("no model given: using the shipped model %s", shipped.name)
            model = str(shipped)
            self.config = dataclasses.replace(self.config, model=model)
        if not Path(model).expanduser().exists():
            raise InputError(model, "does not exist", "give a cleanplate checkpoint folder or a Wan2.1/Wan2.1-Fun-InP directory")
        self._use_model_defaults()
        if self.config.prior != "none":
            from .. import engine_names, get_engine

            try:
                get_engine(self.config.prior)
            except InputError:
                raise InputError(f"-O prior={self.config.prior}", "no such engine",
                                 f"use none or one of: {', '.join(n for n in engine_names() if n != self.name)}") from None
        self._pipeline = None

    def _use_model_defaults(self) -> None:
        """Fill ``window``/``resolution`` left at 0 from the model folder's defaults, else 81 / 480."""
        from .shipped import model_defaults

        defaults = model_defaults(self.config.model)
        chosen = {key: int(defaults.get(key, fallback)) for key, fallback in (("window", 81), ("resolution", 480))
                  if getattr(self.config, key) == 0}
        self.config = dataclasses.replace(self.config, **chosen)
        self.config.check()

    @classmethod
    def is_available(cls) -> bool:
        try:
            return all(importlib.util.find_spec(m) is not None for m in ("torch", "diffusers", "safetensors"))
        except (ImportError, ValueError):
            return False

    def pipeline(self):
        """The loaded :class:`~.pipeline.UnderEraserPipeline` (loaded once, on first use)."""
        if self._pipeline is None:
            import torch

            from .pipeline import UnderEraserPipeline
            from .weights import load_model

            cfg = self.config
            device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
            if device == "cuda" and not torch.cuda.is_available():
                raise InputError("-O device=cuda", "no CUDA device is available", "use -O device=cpu")
            dtype = cfg.dtype if cfg.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32")
            model = load_model(cfg.model, cfg.clip)
            self._pipeline = UnderEraserPipeline(model, device, getattr(torch, dtype), cfg.offload, cfg.vae_tiling)
            log.info("diffusion engine on %s (%s)", device, dtype)
        return self._pipeline

    def fill(self, clip: Clip, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
        cfg = self.config
        pipe = self.pipeline()
        native = clip.info.size
        work = working_size(*native, cfg.resolution)
        plan = plan_keyframes(len(clip), cfg.window)
        priors = None
        if cfg.prior != "none":
            from .prior import prior_stream

            priors = prior_stream(clip, cfg.prior)

        def items():
            stream = priors() if priors else itertools.repeat(None)
            for (frame, mask), prior in zip(clip.pairs(), stream):
                yield (resize_frame(frame, work), resize_quadmask(mask, work),
                       None if prior is None else resize_frame(prior, work))

        def generate(frames, masks, prior, stage):
            return pipe(frames, masks, prior=prior, strength=cfg.strength, steps=cfg.steps, sampler=cfg.sampler,
                        shift=cfg.shift, seed=cfg.seed, second_pass=cfg.second_pass, progress=progress)

        log.info("diffusion: %d frames at %dx%d, %d keyframes, %d windows", len(clip), *work,
                 len(plan.keyframes), len(plan.windows))
        for i, frame in enumerate(keyframe_guided(items, plan, generate, progress)):
            report(progress, "fill", i + 1, len(clip))  # before the yield: the last one is never resumed
            yield resize_frame(frame, native)
