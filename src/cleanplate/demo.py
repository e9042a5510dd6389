"""``cleanplate demo``: remove an object and its shadow from a built-in clip, and score the result.

The clip is made on the spot by the synthetic generator (:mod:`cleanplate.bench.synth`, ``shadow``
category, fixed seed): a textured object crosses a ground plane under a panning camera, casting a
soft shadow, over photos shipped inside scikit-image. Nothing is downloaded. Because the clean
background is known, the demo reports the PSNR of the result against it, over the whole frame and
inside the hole (object + shadow).
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .progress import ProgressFn

log = logging.getLogger(__name__)

DEMO_SEED = 6
DEMO_SIZE = (432, 240)
DEMO_FRAMES = 40
FILES = ("input.mp4", "output.mp4", "side_by_side.mp4", "mask.mp4")


@dataclass
class DemoResult:
    """Where the demo wrote its files and how well the object was removed."""

    folder: Path
    input: Path
    output: Path
    side_by_side: Path
    mask: Path
    engine: str
    side_effects: str  # "auto" when the side-effect module was available, else "off"
    psnr: float  # whole frame, against the known clean background (dB)
    psnr_hole: float  # inside the object and its shadow (dB)
    psnr_input_hole: float  # the same for the untouched input: the score of doing nothing


def side_effects_mode() -> str:
    """``"auto"`` when :mod:`cleanplate.sideeffects` provides ``add_side_effects``, else ``"off"``."""
    try:
        module = importlib.import_module("cleanplate.sideeffects")
    except ModuleNotFoundError as err:
        if err.name not in ("cleanplate.sideeffects",):
            raise
        return "off"
    return "auto" if hasattr(module, "add_side_effects") else "off"


def run_demo(out_dir: str | os.PathLike = "cleanplate-demo", engine: str = "propagate",
             size: tuple[int, int] = DEMO_SIZE, frames: int = DEMO_FRAMES,
             progress: ProgressFn | None = None) -> DemoResult:
    """Build the demo clip, remove the object with ``engine``, write the videos to ``out_dir``.

    The four files in ``FILES`` are (re)written; anything else in the folder is left alone.
    """
    from . import remove
    from .bench.metrics import psnr
    from .bench.synth import generate_clip
    from .clip import VideoInfo
    from .io import open_writer

    clip = generate_clip(DEMO_SEED, "shadow", size, frames, camera="pan", motion="crossing")
    mode = side_effects_mode()
    log.info("side effects: %s (%s)", mode, "cleanplate.sideeffects found" if mode == "auto"
             else "cleanplate.sideeffects not installed: removing the object only")
    output = remove(clip.input, clip.object, engine=engine, side_effects=mode, progress=progress)

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in FILES}
    h, w = clip.input.shape[1:3]
    info = VideoInfo(w, h, float(clip.meta["fps"]), len(clip))
    with open_writer(paths["input.mp4"], info) as a, open_writer(paths["output.mp4"], info) as b, \
            open_writer(paths["side_by_side.mp4"], info.with_(width=2 * w)) as c, open_writer(paths["mask.mp4"], info) as d:
        for t in range(len(clip)):
            a.write(clip.input[t])
            b.write(output[t])
            c.write(np.concatenate([clip.input[t], output[t]], axis=1))
            d.write(np.repeat((clip.object[t].astype(np.uint8) * 255)[..., None], 3, axis=2))
    hole = clip.object | clip.side
    return DemoResult(folder, paths["input.mp4"], paths["output.mp4"], paths["side_by_side.mp4"], paths["mask.mp4"],
                      engine, mode, psnr(output, clip.gt), psnr(output, clip.gt, hole), psnr(clip.input, clip.gt, hole))
