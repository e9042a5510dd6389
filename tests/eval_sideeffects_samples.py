"""Side-effect estimation on the real sample clips: grabs for the docs and CPU cost.

    PYTHONPATH=src python tests/eval_sideeffects_samples.py [--out docs/images] [--clips tennis,boat]

Reads ``../shared/samples`` (or ``$CLEANPLATE_SAMPLES``); binary ``mask.mp4`` (white = remove) and
``quadmask.mp4`` are snapped here. For each clip it writes ``sidefx-<clip>.jpg``: rows of three frames,
each row *input with the object (red) and the estimated side effect (green) overlaid* | *the frame
handed to the engine (relit inside AFFECTED)*, and prints the CPU seconds per frame of estimation.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np

from cleanplate import quadmask
from cleanplate.clip import Clip, VideoInfo
from cleanplate.sideeffects import SideEffectConfig, add_side_effects

SAMPLES = Path(os.environ.get("CLEANPLATE_SAMPLES", Path(__file__).resolve().parents[2] / "shared" / "samples"))


def decode(path: Path):
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def sample_clip(name: str) -> Clip:
    folder = SAMPLES / name
    video = folder / "video.mp4"
    quad = (folder / "quadmask.mp4").exists()
    mask_path = folder / ("quadmask.mp4" if quad else "mask.mp4")
    first = next(decode(video))
    count = sum(1 for _ in decode(video))
    info = VideoInfo(first.shape[1], first.shape[0], 25.0, count, path=str(video))

    def masks():
        for rgb in decode(mask_path):
            grey = rgb[..., 0]
            yield quadmask.snap_levels(grey) if quad else quadmask.from_binary(grey > 127)

    return Clip(info, lambda: decode(video), masks)


def overlay(frame: np.ndarray, q: np.ndarray, soft: np.ndarray) -> np.ndarray:
    out = frame.astype(np.float32)
    obj = quadmask.object_region(q)
    out[obj] = 0.5 * out[obj] + 0.5 * np.float32([255, 40, 40])
    a = 0.6 * np.clip(soft, 0, 1)[..., None]
    out = (1 - a) * out + a * np.float32([40, 255, 40])
    edge = cv2.morphologyEx(quadmask.affected_region(q).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    out[edge] = (255, 255, 0)
    return out.astype(np.uint8)


def run(name: str, out_dir: Path, width: int, work_size: int) -> None:
    clip = sample_clip(name)
    side = add_side_effects(clip, config=SideEffectConfig(work_size=work_size))
    n = len(clip)
    picks = {n // 6, n // 2, (5 * n) // 6}
    rows = []
    start = time.process_time()
    for i, ((frame, q), soft) in enumerate(zip(side.pairs(), side.soft_masks())):
        if i in picks:
            rows.append((i, frame, q, soft))
    cpu = time.process_time() - start
    originals = {i: f for i, f in enumerate(clip.frames()) if i in picks}
    grid = []
    for i, relit, q, soft in rows:
        grid.append(np.concatenate([overlay(originals[i], q, soft), relit], axis=1))
    image = np.concatenate(grid, axis=0)
    scale = width / image.shape[1]
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sidefx-{name}.jpg"
    cv2.imwrite(str(path), image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f"{name}: {n} frames {clip.info.width}x{clip.info.height}, {cpu / n * 1000:.0f} ms CPU/frame "
          f"(estimation, relit frames and soft masks), wrote {path} ({path.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--clips", default="tennis,boat,bigben,ducky")
    parser.add_argument("--width", type=int, default=900, help="width of the JPEG")
    parser.add_argument("--work-size", type=int, default=SideEffectConfig.work_size)
    args = parser.parse_args()
    if not SAMPLES.exists():
        sys.exit(f"sample clips not found at {SAMPLES} (set CLEANPLATE_SAMPLES)")
    for name in args.clips.split(","):
        run(name, Path(args.out), args.width, args.work_size)


if __name__ == "__main__":
    main()
