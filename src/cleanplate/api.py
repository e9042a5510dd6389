"""The public entry points: :func:`remove` and :func:`remove_iter`.

Both take a video and a mask, as paths or arrays:

- ``video``: a video file, a frame folder, or an array ``(T, H, W, 3) uint8 RGB``;
- ``mask``: a mask video, folder or single image, or an array ``(T, H, W)`` / ``(H, W)`` — bool
  (True = remove) or uint8 quadmask levels.

Keyword options are split between :class:`RemoveOptions` (shared by every engine) and the chosen
engine's ``Config``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator

import numpy as np

from . import quadmask
from .clip import Clip
from .composite import composite, replaced_region
from .engines import get_engine
from .errors import InputError
from .progress import ProgressFn, report
from .typed import coerce_fields

log = logging.getLogger(__name__)


@dataclasses.dataclass
class RemoveOptions:
    """Options shared by every engine."""

    dilate: int = 4  # grow the mask by this many pixels: covers soft and lossy mask edges
    feather: int = 3  # blend ramp inside the hole's edge, in pixels
    side_effects: str = "off"  # "auto": also find and remove the object's shadow/reflection
    side_effect_options: dict | None = None  # with "auto": SideEffectConfig fields, e.g. {"max_fraction": 0.5}
    invert_mask: bool = False  # the mask is black where the object is
    mask_kind: str = "auto"  # "binary", "quadmask", or "auto": recognise it from the mask's grey levels
    # Writing (remove() with an output only):
    overwrite: bool = False
    quality: int = 18  # x264 CRF: lower is better and larger
    save_mask: str | None = None  # also write the region that was replaced
    save_quadmask: str | None = None  # also write the quadmask used (after side-effect estimation)
    compare: str | None = None  # also write input | output side by side

    def check(self) -> None:
        if self.dilate < 0 or self.feather < 0:
            raise InputError("--dilate/--feather", f"must be >= 0, got {self.dilate}/{self.feather}")
        if self.side_effects not in ("auto", "off"):
            raise InputError("--side-effects", f"unknown value {self.side_effects!r}", "use auto or off")
        if self.side_effect_options and self.side_effects != "auto":
            raise InputError("side-effect options", "only apply with --side-effects auto", "add --side-effects auto or drop them")
        if self.mask_kind not in ("auto", "binary", "quadmask"):
            raise InputError("--mask-kind", f"unknown value {self.mask_kind!r}", "use auto, binary or quadmask")
        self.side_effect_config()  # refuses unknown or unworkable options before any work

    def side_effect_config(self):
        """The :class:`~cleanplate.sideeffects.SideEffectConfig` that ``side_effect_options`` describe."""
        from .sideeffects.config import SideEffectConfig

        given = dict(self.side_effect_options or {})
        fields = {f.name for f in dataclasses.fields(SideEffectConfig)}
        unknown = sorted(set(given) - fields)
        if unknown:
            raise InputError(f"side-effect option {unknown[0]}", "is not an option of side-effect estimation",
                             f"valid options: {', '.join(sorted(fields))}")
        config = SideEffectConfig(**coerce_fields(SideEffectConfig, given, lambda k, v: f"side-effect option {k}={v!r}"))
        config.check()
        return config


def _split_options(engine: str, config: dict):
    engine_cls = get_engine(engine)
    names = {f.name for f in dataclasses.fields(RemoveOptions)}
    given = coerce_fields(RemoveOptions, {k: v for k, v in config.items() if k in names}, lambda k, v: f"option {k}={v!r}")
    options = RemoveOptions(**given)
    options.check()
    engine_options = coerce_fields(engine_cls.Config, {k: v for k, v in config.items() if k not in names},
                                   lambda k, v: f"engine '{engine}' option {k}={v!r}")
    engine_obj = engine_cls(**engine_options)
    return options, engine_obj


def as_clip(video, mask, invert_mask: bool = False, fps: float = 25.0, mask_kind: str = "auto",
            progress: ProgressFn | None = None) -> Clip:
    """Open paths or wrap arrays as a :class:`Clip`; raise :class:`InputError` on bad input."""
    if isinstance(video, Clip):
        return video
    if isinstance(video, (str, os.PathLike)):
        from .io import open_clip

        if not isinstance(mask, (str, os.PathLike)):
            raise InputError("mask", "must be a path when the video is a path")
        return open_clip(video, mask, invert_mask=invert_mask, mask_kind=mask_kind, progress=progress)
    frames = np.asarray(video)
    masks = np.asarray(mask)
    if masks.ndim == 2:
        masks = np.broadcast_to(masks, frames.shape[:3])
    if invert_mask:
        masks = ~masks if masks.dtype == bool else 255 - masks
    return Clip.from_arrays(frames, masks, fps=fps)


def prepare_masks(clip: Clip, options: RemoveOptions, progress: ProgressFn | None = None) -> Clip:
    """Estimate side effects if asked, then dilate: the quadmask the engine will fill."""
    if options.side_effects == "auto":
        from .sideeffects import add_side_effects

        clip = add_side_effects(clip, progress=progress, config=options.side_effect_config())
    radius = options.dilate
    return clip.map_masks(lambda q: quadmask.dilate_quadmask(q, radius))


def run_engine(clip: Clip, engine, options: RemoveOptions, progress: ProgressFn | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield ``(original, result, quadmask)`` per frame: the engine's fill composited in the hole."""
    prepared = prepare_masks(clip, options, progress)
    filled = engine.fill(prepared, progress)
    count = 0
    # The engine's stream leads, so it runs to completion (its last progress report included).
    # Side-effect removal finds reflecting surfaces under the object: the water is rebuilt from the fill.
    mirrors = getattr(prepared, "mirrors", None)
    if mirrors is not None:
        from .sideeffects.mirror import mirror_fill
    for index, (out, (frame, q)) in enumerate(zip(filled, prepared.pairs())):
        if out.shape != frame.shape or out.dtype != np.uint8:
            raise RuntimeError(f"engine {engine.name} returned {out.shape} {out.dtype} for a {frame.shape} frame")
        if mirrors is not None:
            out, q = mirror_fill(frame, out, q, mirrors(index))
        yield frame, composite(frame, out, q, options.feather), q
        count += 1
    if count != len(clip):
        raise RuntimeError(f"engine {engine.name} returned {count} frames for a {len(clip)}-frame clip")


def remove_iter(video, mask, engine: str = "propagate", progress: ProgressFn | None = None, **config) -> Iterator[np.ndarray]:
    """Yield the cleaned frames ``(H, W, 3) uint8 RGB`` one at a time, in order.

    Memory stays bounded by the engine's window, whatever the video's length.
    """
    options, engine_obj = _split_options(engine, config)
    clip = as_clip(video, mask, options.invert_mask, mask_kind=options.mask_kind, progress=progress)
    for _, result, _ in run_engine(clip, engine_obj, options, progress):
        yield result


def remove(video, mask, output: str | os.PathLike | None = None, engine: str = "propagate",
           progress: ProgressFn | None = None, **config):
    """Remove the masked object from ``video``.

    With ``output`` (an .mp4/.mov/.mkv path, or a folder for PNG frames) the result is written there,
    keeping the input's frame rate, length, size and audio, and the path is returned. Without it,
    the frames are returned as one array ``(T, H, W, 3) uint8``.
    """
    options, engine_obj = _split_options(engine, config)
    if output is None:
        clip = as_clip(video, mask, options.invert_mask, mask_kind=options.mask_kind, progress=progress)
        return np.stack([r for _, r, _ in run_engine(clip, engine_obj, options, progress)])

    from .io import check_outputs, open_writer

    # 1. Refuse bad output paths, then bad inputs, before any work (nothing is written on failure).
    check_outputs([output, options.save_mask, options.save_quadmask, options.compare], (video, mask),
                  options.overwrite)
    clip = as_clip(video, mask, options.invert_mask, mask_kind=options.mask_kind, progress=progress)
    info = clip.info
    audio = info.path if info.has_audio else None
    total = len(clip)
    # 2. Open every writer under a temporary name; 3. stream frames through the engine into them.
    with ExitStack() as stack:
        def writer(path, size_info, audio_from=None):
            return stack.enter_context(open_writer(path, size_info, options.quality, audio_from=audio_from))

        main = writer(output, info, audio)
        mask_out = options.save_mask and writer(options.save_mask, info)
        quad_out = options.save_quadmask and writer(options.save_quadmask, info)
        side_out = options.compare and writer(options.compare, info.with_(width=info.width * 2))
        for i, (frame, result, q) in enumerate(run_engine(clip, engine_obj, options, progress)):
            main.write(result)
            if mask_out:
                mask_out.write(np.repeat(replaced_region(q)[..., None] * np.uint8(255), 3, axis=2))
            if quad_out:
                quad_out.write(np.repeat(q[..., None], 3, axis=2))
            if side_out:
                side_out.write(np.concatenate([frame, result], axis=1))
            report(progress, "write", i + 1, total)
    # 4. Leaving the ``with`` block without an error moved every output into place.
    log.info("wrote %s", output)
    return Path(output)
