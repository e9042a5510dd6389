"""Write synthetic clips to disk in the layout ``cleanplate bench --data`` reads back.

One folder per clip::

    000_shadow/
        input.mp4        the clip with the object (H.264)
        input/           the same frames as PNGs (lossless)
        gt/              the clean plate, PNGs
        mask/            the object, white on black PNGs
        side/            the side effect (shadow, reflection, light), white on black PNGs
        quadmask.mp4     0 object, 127 side effect, 255 keep (lossless H.264: snap to levels on read)
        meta.json        category, camera, motion, seed, frames, size, fps, ...

Every file is written under a temporary name and the clip folder is moved into place when complete.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ...clip import VideoInfo
from ...errors import OutputError
from ...progress import ProgressFn, report
from .generate import CATEGORIES, ClipSpec, make_quadmask, render_frames, sample_spec

log = logging.getLogger(__name__)

LOSSLESS = 0  # x264 CRF 0: lossless luma, so quadmask levels survive exactly (grey has no chroma)


def _grey3(mask: np.ndarray) -> np.ndarray:
    plane = mask.astype(np.uint8) * 255 if mask.dtype == bool else mask
    return np.repeat(plane[..., None], 3, axis=2)


def write_clip(spec: ClipSpec, folder: str | os.PathLike, quality: int = 18, progress: ProgressFn | None = None) -> Path:
    """Render ``spec`` frame by frame into ``folder`` (which must not exist). Returns the folder."""
    from ...io import open_writer

    folder = Path(folder)
    if folder.exists():
        raise OutputError(folder, "already exists", "choose an empty output folder or remove it")
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    info = VideoInfo(spec.width, spec.height, spec.fps, spec.frames)
    try:
        with ExitStack() as stack:
            video = stack.enter_context(open_writer(tmp / "input.mp4", info, quality))
            quad = stack.enter_context(open_writer(tmp / "quadmask.mp4", info, LOSSLESS))
            folders = {name: stack.enter_context(open_writer(tmp / name, info)) for name in ("input", "gt", "mask", "side")}
            for t, frame in enumerate(render_frames(spec)):
                video.write(frame.input)
                quad.write(_grey3(make_quadmask(frame.object, frame.side)))
                folders["input"].write(frame.input)
                folders["gt"].write(frame.gt)
                folders["mask"].write(_grey3(frame.object))
                folders["side"].write(_grey3(frame.side))
                report(progress, "synth", t + 1, spec.frames)
        (tmp / "meta.json").write_text(json.dumps(spec.meta(), indent=2) + "\n")
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def dataset_specs(clips: int, seed: int = 0, size: tuple[int, int] = (320, 192), frames: int = 24,
                  categories: tuple[str, ...] = CATEGORIES) -> list[tuple[str, ClipSpec]]:
    """``(name, spec)`` for clip ``i``: category ``categories[i % len]``, seed ``seed + i``."""
    if clips < 1:
        raise ValueError(f"need at least one clip, got {clips}")
    bad = [c for c in categories if c not in CATEGORIES]
    if bad or not categories:
        raise ValueError(f"unknown categories {bad}; choose from {', '.join(CATEGORIES)}")
    out = []
    for i in range(clips):
        category = categories[i % len(categories)]
        out.append((f"{i:03d}_{category}", sample_spec(seed + i, category, size, frames)))
    return out


def write_dataset(out_dir: str | os.PathLike, clips: int, seed: int = 0, size: tuple[int, int] = (320, 192),
                  frames: int = 24, categories: tuple[str, ...] = CATEGORIES, quality: int = 18,
                  progress: ProgressFn | None = None) -> list[Path]:
    """Write ``clips`` synthetic paired clips under ``out_dir`` (see :func:`dataset_specs` for which)."""
    out_dir = Path(out_dir)
    specs = dataset_specs(clips, seed, size, frames, tuple(categories))
    taken = [name for name, _ in specs if (out_dir / name).exists()]
    if taken:
        raise OutputError(out_dir / taken[0], "already exists", "choose an empty output folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (name, spec) in enumerate(specs):
        paths.append(write_clip(spec, out_dir / name, quality))
        log.info("wrote %s (%s, camera %s, motion %s)", paths[-1], spec.category, spec.camera.kind, spec.path.kind)
        report(progress, "synth", i + 1, len(specs))
    return paths
