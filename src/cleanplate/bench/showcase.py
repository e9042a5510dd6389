"""Before/after frame grabs of real clips, for the docs.

``python -m cleanplate.bench.showcase SAMPLES_DIR OUT_DIR`` runs the ``propagate`` engine with
side-effect estimation on the sample clips that ship beside the project (tennis, boat, bigben,
ducky, schoolgirls, sign), and writes one JPEG per clip: two frames, each as the input with the
removed region overlaid (object red, side effect found or given green, outlined yellow) beside the
output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from .. import quadmask
from ..api import _split_options, as_clip, run_engine

CLIPS = {  # name: mask file
    "tennis": "mask.mp4", "boat": "mask.mp4", "bigben": "quadmask.mp4", "ducky": "quadmask.mp4",
    "schoolgirls": "mask.mp4", "sign": "mask.mp4",
}


def overlay(frame: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``frame`` with the object tinted red and the affected region tinted green, outlined yellow."""
    out = frame.astype(np.float32)
    obj, side = quadmask.object_region(q), quadmask.affected_region(q)
    out[obj] = 0.5 * out[obj] + 0.5 * np.array([255, 40, 40])
    out[side] = 0.5 * out[side] + 0.5 * np.array([40, 200, 40])
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(quadmask.hole(q).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, (255, 230, 0), 2)
    return out


def grab(video: Path, mask: Path, frames_at=(0.33, 0.66), width: int = 900, **config) -> np.ndarray:
    """Rows of ``[input + overlay | output]`` at the given fractions of the clip, ``width`` wide."""
    options, engine = _split_options(config.pop("engine", "propagate"), config)
    clip = as_clip(video, mask, options.invert_mask)
    wanted = {min(len(clip) - 1, int(f * len(clip))) for f in frames_at}
    rows = []
    for i, (original, (_, result, q)) in enumerate(zip(clip.frames(), run_engine(clip, engine, options))):
        if i in wanted:
            rows.append(np.concatenate([overlay(original, q), result], axis=1))
    sheet = np.concatenate(rows, axis=0)
    scale = width / sheet.shape[1]
    return cv2.resize(sheet, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("samples", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--side-effects", default="auto", choices=["auto", "off"])
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.clips.split(","):
        folder = args.samples / name
        sheet = grab(folder / "video.mp4", folder / CLIPS[name], side_effects=args.side_effects)
        path = args.out / f"result-{name}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 82])
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
