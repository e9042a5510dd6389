"""Wall time of :func:`remove_many` on 1 and 2 local Ray CPUs, and the driver's memory under :func:`remove_long`.

Indicative figures on one machine (what BENCHMARKS.md reports)::

    python -m cleanplate.cluster.bench --jobs 4 --frames 48 --size 320x240 --cpus 1 2 \\
        --long-frames 120 480 --out bench-out/cluster.json

1. Speed: ``--jobs`` synthetic clips (a textured pan with a square crossing it, H.264) are cleaned by
   :func:`remove_many` in this process (no Ray), then on a local Ray of each ``--cpus`` count, the
   minimum of ``--repeat`` runs each. Ray's start-up is timed apart.
2. Memory: one clip of each ``--long-frames`` length goes through :func:`remove_long` (``--segments``
   segments on a local Ray of the largest ``--cpus``), after one :func:`cleanplate.remove` of it in this
   process for comparison; the driver's resident memory is sampled every 20 ms and its peak rise
   over the call reported. The driver streams the stitch, so that rise should not grow with the length.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def write_synthetic(path: Path, frames: int, width: int, height: int, seed: int = 0) -> tuple[Path, Path]:
    """Write a textured pan with a square crossing it to ``path`` (mp4) and its mask beside it, streamed."""
    import cv2

    from ..clip import VideoInfo
    from ..io import open_writer

    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height // 8 + 2, (width + frames) // 8 + 2, 3), dtype=np.uint8)
    texture = cv2.resize(texture, (texture.shape[1] * 8, texture.shape[0] * 8), interpolation=cv2.INTER_CUBIC)
    info = VideoInfo(width, height, 25.0, frames)
    mask_path = path.with_name(path.stem + "_mask.mp4")
    side = max(8, min(width, height) // 5)
    with open_writer(path, info) as video, open_writer(mask_path, info) as mask:
        for t in range(frames):
            frame = texture[:height, t:t + width].copy()
            hole = np.zeros((height, width, 3), np.uint8)
            x = (t * (width - side)) // max(frames - 1, 1)
            y = (height - side) // 2
            frame[y:y + side, x:x + side] = (230, 40, 40)
            hole[y:y + side, x:x + side] = 255
            video.write(frame)
            mask.write(hole)
    return path, mask_path


class PeakRSS:
    """Samples this process's resident memory in a thread; ``peak`` once stopped, in bytes."""

    def __init__(self, every: float = 0.02):
        import psutil

        self._process = psutil.Process()
        self._every = every
        self._stop = threading.Event()
        self.start_rss = self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def _ray_session(ray, cpus: int) -> float:
    began = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
    return time.perf_counter() - began


def run(args) -> dict:
    import ray

    import cleanplate

    from . import remove_long, remove_many

    width, height = (int(v) for v in args.size.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="cleanplate-cluster-bench-"))
    clips = [write_synthetic(work / f"clip{i}.mp4", args.frames, width, height, seed=i) for i in range(args.jobs)]
    jobs = [(v, m, work / f"out{i}.mp4") for i, (v, m) in enumerate(clips)]
    config = dict(engine=args.engine, overwrite=True)

    def timed(**where) -> float:
        best = float("inf")
        for _ in range(args.repeat):
            began = time.perf_counter()
            results = remove_many(jobs, **where, **config)
            best = min(best, time.perf_counter() - began)
            failed = [r.error for r in results if not r.ok]
            if failed:
                raise RuntimeError(failed[0])
        return best

    speed = [dict(where="in process", cpus=None, init_s=0.0, seconds=timed(ray_address=None))]
    for cpus in args.cpus:
        init_s = _ray_session(ray, cpus)
        try:
            speed.append(dict(where="local Ray", cpus=cpus, init_s=init_s, seconds=timed(ray_address="local")))
        finally:
            ray.shutdown()

    memory = []
    _ray_session(ray, max(args.cpus))
    try:
        for i, frames in enumerate(args.long_frames):
            video, mask = write_synthetic(work / f"long{i}.mp4", frames, width, height, seed=100 + i)
            began = time.perf_counter()
            cleanplate.remove(video, mask, work / f"long{i}_single.mp4", **config)
            single_s = time.perf_counter() - began
            with PeakRSS() as rss:
                began = time.perf_counter()
                remove_long(video, mask, work / f"long{i}_out.mp4", segments=args.segments, overlap=args.overlap,
                            ray_address="local", **config)
            memory.append(dict(frames=frames, seconds=time.perf_counter() - began, single_process_s=single_s,
                               driver_rss_mib=rss.start_rss / 2**20,
                               driver_peak_rise_mib=(rss.peak - rss.start_rss) / 2**20))
    finally:
        ray.shutdown()
    return dict(engine=args.engine, jobs=args.jobs, frames=args.frames, width=width, height=height,
                repeat=args.repeat, segments=args.segments, overlap=args.overlap, ray=ray.__version__,
                cpu=platform.processor() or platform.machine(), cpu_count=os.cpu_count(),
                date=time.strftime("%Y-%m-%d"), speed=speed, memory=memory)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cleanplate.cluster.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="telea")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--frames", type=int, default=48, help="frames per job")
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT")
    parser.add_argument("--cpus", type=int, nargs="+", default=[1, 2], help="local Ray sizes to time")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting (the minimum is reported)")
    parser.add_argument("--long-frames", type=int, nargs="+", default=[120, 480], help="remove_long lengths")
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--overlap", type=int, default=8)
    parser.add_argument("--out", default="bench-out/cluster.json")
    args = parser.parse_args(argv)

    report = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"remove_many, {report['jobs']} jobs of {report['frames']} frames {report['width']}x{report['height']}, "
          f"engine {report['engine']} (min of {report['repeat']}):")
    for r in report["speed"]:
        start = f" (+{r['init_s']:.1f} s to start Ray)" if r["init_s"] else ""
        where = f"local Ray, {r['cpus']} CPU" if r["cpus"] else "in process, no Ray"
        print(f"  {where:18s}: {r['seconds']:6.2f} s{start}")
    print(f"remove_long, {report['segments']} segments, overlap {report['overlap']}: driver memory")
    for r in report["memory"]:
        print(f"  {r['frames']:5d} frames: {r['seconds']:6.2f} s ({r['single_process_s']:.2f} s in one process), "
              f"driver RSS {r['driver_rss_mib']:.0f} MiB, peak rise {r['driver_peak_rise_mib']:.1f} MiB")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
