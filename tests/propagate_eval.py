"""Quality and CPU time of the ``propagate`` engine beside the baselines, on paired clips.

Run from the repository root::

    PYTHONPATH=src:tests python tests/propagate_eval.py            # 432x240 and 854x480 clips
    PYTHONPATH=src:tests python tests/propagate_eval.py --quick    # one small clip
    PYTHONPATH=src:tests python tests/propagate_eval.py --speed    # CPU time, engine and end to end

Metrics, on clips from ``tests/propagate_clips.py`` whose ground truth is known:

- ``psnr_obj``: PSNR over the object's pixels (all frames pooled);
- ``psnr_frame``: PSNR over whole frames;
- ``warp``: temporal warping error in the hole, mean squared difference between frame ``t`` and
  frame ``t+1`` warped back by the true camera motion, over the object's pixels; ``warp_gt`` is the
  ground truth's own (interpolation alone) and ``warp_ratio`` their quotient;
- ``cpu_ms``: CPU seconds (all threads, ``time.process_time``) per frame of ``cleanplate.remove``
  on arrays (mask dilation, engine, compositing; no decoding or encoding).

``--speed`` times, as the least CPU time of three runs on a 60-frame clip at 854x480 and 432x240:
the engine alone (``propagate_frames`` on prepared masks), and ``cleanplate.remove`` from an mp4
and a mask mp4 to an mp4 (decoding, mask preparation, engine, compositing, encoding).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import cv2
import numpy as np

import cleanplate
from propagate_clips import make_paired_clip


def psnr(mse: float) -> float:
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def warp_error(frames: np.ndarray, masks: np.ndarray, clip) -> float:
    """Mean squared temporal warping error over the object's pixels."""
    total, count = 0.0, 0
    h, w = masks.shape[1:]
    for t in range(len(frames) - 1):
        ys, xs = np.nonzero(masks[t])
        M = clip.frame_to_frame(t, t + 1)
        x = M[0, 0] * xs + M[0, 1] * ys + M[0, 2]
        y = M[1, 0] * xs + M[1, 1] * ys + M[1, 2]
        inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
        nxt = cv2.remap(frames[t + 1], x[inside].astype(np.float32)[None], y[inside].astype(np.float32)[None],
                        cv2.INTER_LINEAR)[0].astype(np.float64)
        cur = frames[t][ys[inside], xs[inside]].astype(np.float64)
        total += ((nxt - cur) ** 2).sum()
        count += cur.size
    return total / max(count, 1)


def evaluate(clip, engine: str, **options) -> dict:
    start = time.process_time()
    out = cleanplate.remove(clip.video, clip.masks, engine=engine, **options)
    cpu = time.process_time() - start
    err = (out.astype(np.float64) - clip.background) ** 2
    obj = clip.masks
    warp = warp_error(out, obj, clip)
    warp_gt = warp_error(clip.background, obj, clip)
    return {
        "engine": engine,
        "psnr_obj": psnr(err[obj].mean()),
        "psnr_frame": psnr(err.mean()),
        "warp": warp,
        "warp_gt": warp_gt,
        "warp_ratio": warp / warp_gt,
        "cpu_ms": 1000 * cpu / len(out),
    }


CLIPS = {
    "240p-panzoom": dict(width=432, height=240, frames=48, pan=2.0, zoom=0.1, shake=0.0),
    "240p-shake": dict(width=432, height=240, frames=48, pan=1.0, zoom=0.05, shake=1.5, seed=1),
    "240p-exposure": dict(width=432, height=240, frames=48, pan=2.0, zoom=0.05, shake=0.5, exposure=0.06, seed=2),
    "480p-panzoom": dict(width=854, height=480, frames=48, pan=3.0, zoom=0.1, shake=0.0),
    "480p-shake": dict(width=854, height=480, frames=48, pan=2.0, zoom=0.05, shake=2.0, seed=1),
}


def _parse(value: str):
    if value in ("True", "False"):
        return value == "True"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _least_cpu(fn, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def speed(width: int, height: int, frames: int = 60) -> None:
    from cleanplate import quadmask
    from cleanplate.clip import VideoInfo
    from cleanplate.engines.propagate import PropagateConfig, propagate_frames
    from cleanplate.io import open_writer

    clip = make_paired_clip(width=width, height=height, frames=frames)
    quads = [quadmask.dilate_quadmask(quadmask.from_binary(m), 4) for m in clip.masks]
    engine = _least_cpu(lambda: list(propagate_frames(zip(clip.video, quads), PropagateConfig())))
    with tempfile.TemporaryDirectory() as folder:
        video, mask, out = (os.path.join(folder, name) for name in ("video.mp4", "mask.mp4", "out.mp4"))
        info = VideoInfo(width, height, 25.0, frames)
        with open_writer(video, info, 18) as writer:
            for frame in clip.video:
                writer.write(frame)
        with open_writer(mask, info, 18) as writer:
            for m in clip.masks:
                writer.write(np.repeat(m[..., None] * np.uint8(255), 3, axis=2))
        total = _least_cpu(lambda: cleanplate.remove(video, mask, out, overwrite=True))
    print(f"{width}x{height}: engine {1000 * engine / frames:.1f} ms/frame ({frames / engine:.0f} fps), "
          f"end to end {1000 * total / frames:.1f} ms/frame ({frames / total:.0f} fps) of CPU time", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one 240p clip")
    parser.add_argument("--speed", action="store_true", help="CPU time of the engine and end to end")
    parser.add_argument("--engines", default="propagate,telea,median")
    parser.add_argument("--clips", default=None, help="comma-separated names of CLIPS")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an engine option for propagate, e.g. --set flow_preset=medium")
    args = parser.parse_args()
    if args.speed:
        speed(854, 480)
        speed(432, 240)
        return
    options = {k: _parse(v) for k, v in (item.split("=", 1) for item in args.set)}
    names = ["240p-panzoom"] if args.quick else (args.clips.split(",") if args.clips else list(CLIPS))
    print(f"{'clip':14} {'engine':10} {'psnr_obj':>8} {'psnr_frame':>10} {'warp':>8} {'warp_gt':>8} {'ratio':>6} {'cpu_ms':>7}")
    for name in names:
        clip = make_paired_clip(**CLIPS[name])
        for engine in args.engines.split(","):
            r = evaluate(clip, engine, **(options if engine == "propagate" else {}))
            print(f"{name:14} {engine:10} {r['psnr_obj']:8.2f} {r['psnr_frame']:10.2f} {r['warp']:8.1f} "
                  f"{r['warp_gt']:8.1f} {r['warp_ratio']:6.2f} {r['cpu_ms']:7.1f}", flush=True)


if __name__ == "__main__":
    main()
