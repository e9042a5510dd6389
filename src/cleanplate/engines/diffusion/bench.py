"""Speed and memory of the diffusion pipeline on random weights, at a given model shape.

On a GPU, the Wan2.1-1.3B shape at 81 frames of 832x480 (the numbers BENCHMARKS.md reports)::

    python -m cleanplate.engines.diffusion.bench --preset wan2.1-1.3b --frames 81 --size 832x480 \\
        --steps 4 8 --out bench-out/diffusion-speed.json

Checking the script itself on a CPU, in seconds::

    python -m cleanplate.engines.diffusion.bench --preset tiny --frames 9 --size 32x32 --steps 2 --device cpu

Each run is one pipeline call on one window (VAE encode, framewise context, ``steps`` transformer
passes, VAE decode), after one warm-up call. Reported per run: seconds per clip and per stage,
peak GPU memory (``torch.cuda.max_memory_allocated``) and peak process memory. Weights are random:
the timings are those of the real shapes, the frames are not meaningful.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np


def synthetic_clip(frames: int, width: int, height: int, seed: int = 0):
    """A textured pan with a square crossing it: frames ``(T, H, W, 3)`` and quadmasks ``(T, H, W)``."""
    import cv2

    from ... import quadmask

    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height // 8 + 2, (width + 2 * frames) // 8 + 2, 3), dtype=np.uint8)
    texture = cv2.resize(texture, (texture.shape[1] * 8, texture.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    video = np.stack([texture[:height, 2 * t:2 * t + width] for t in range(frames)])
    masks = np.full((frames, height, width), quadmask.KEEP, np.uint8)
    side = max(8, min(width, height) // 4)
    for t in range(frames):
        x = (t * (width - side)) // max(frames - 1, 1)
        masks[t, (height - side) // 2:(height + side) // 2, x:x + side] = quadmask.REMOVE
        masks[t, (height + side) // 2:(height + side) // 2 + side // 4, x:x + side] = quadmask.AFFECTED
    return video, masks


def run(args) -> dict:
    import diffusers
    import psutil
    import torch

    from .model import build_model
    from .pipeline import UnderEraserPipeline

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = getattr(torch, args.dtype if args.dtype != "auto" else ("bfloat16" if device == "cuda" else "float32"))
    cuda = device == "cuda"
    width, height = (int(v) for v in args.size.lower().split("x"))
    video, masks = synthetic_clip(args.frames, width, height)

    start = time.perf_counter()
    model = build_model(args.preset, device=None if args.offload else device)
    pipe = UnderEraserPipeline(model, device, dtype, offload=args.offload, vae_tiling=args.vae_tiling)
    build_s = time.perf_counter() - start
    params = {name: sum(p.numel() for p in getattr(model, name).parameters())
              for name in ("transformer", "vae", "context_encoder")}

    def sync():
        if cuda:
            torch.cuda.synchronize()

    pipe(video[:5], masks[:5], steps=1, sampler=args.sampler)  # warm-up: kernels, allocator
    results = []
    process = psutil.Process()
    for steps in args.steps:
        for _ in range(args.repeat):
            marks: dict[str, float] = {}

            def progress(stage, done, total):
                sync()
                marks[stage] = time.perf_counter()

            if cuda:
                torch.cuda.reset_peak_memory_stats()
            sync()
            t0 = time.perf_counter()
            pipe(video, masks, steps=steps, sampler=args.sampler, seed=0, progress=progress)
            sync()
            t1 = time.perf_counter()
            results.append(dict(
                steps=steps, seconds=t1 - t0,
                encode_s=marks["encode"] - t0, denoise_s=marks["denoise"] - marks["encode"],
                decode_s=marks["decode"] - marks["denoise"],
                seconds_per_step=(marks["denoise"] - marks["encode"]) / steps,
                peak_gpu_gib=torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
                rss_gib=process.memory_info().rss / 2**30,
            ))
    gpu = torch.cuda.get_device_name() if cuda else None
    return dict(
        preset=args.preset, frames=args.frames, width=width, height=height, sampler=args.sampler,
        device=device, gpu=gpu, cpu=platform.processor() or platform.machine(), dtype=str(dtype).split(".")[-1],
        offload=args.offload, vae_tiling=args.vae_tiling, torch=torch.__version__, diffusers=diffusers.__version__,
        parameters=params, build_s=build_s, date=time.strftime("%Y-%m-%d"), results=results,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cleanplate.engines.diffusion.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="wan2.1-1.3b", help="model shape: wan2.1-1.3b or tiny")
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--size", default="832x480", help="WIDTHxHEIGHT, multiples of 16")
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--sampler", default="unipc", choices=["unipc", "euler"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting (report the minimum)")
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    parser.add_argument("--offload", action="store_true", help="keep components on the CPU between uses")
    parser.add_argument("--vae-tiling", action="store_true")
    parser.add_argument("--out", default="bench-out/diffusion-speed.json")
    args = parser.parse_args(argv)

    report = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{report['preset']} {report['frames']}x{report['width']}x{report['height']} on "
          f"{report['gpu'] or report['device']} ({report['dtype']}), {report['sampler']}:")
    best: dict[int, dict] = {}
    for r in report["results"]:  # the fastest of the repeats
        if r["steps"] not in best or r["seconds"] < best[r["steps"]]["seconds"]:
            best[r["steps"]] = r
    for r in best.values():
        gpu = f", peak GPU {r['peak_gpu_gib']:.1f} GiB" if r["peak_gpu_gib"] is not None else ""
        print(f"  {r['steps']:3d} steps: {r['seconds']:8.2f} s/clip (encode {r['encode_s']:.2f}, "
              f"{r['seconds_per_step']:.2f} s/step, decode {r['decode_s']:.2f}){gpu}, RSS {r['rss_gib']:.1f} GiB")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
