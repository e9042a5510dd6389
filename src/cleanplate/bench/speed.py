"""Speed and memory against resolution and length, end to end through files (``cleanplate bench --speed``).

For each resolution and length a synthetic clip (the ``shadow`` category, a panning camera, looping
motion) is written to a temporary mp4 with its mask: a 2-second cycle is rendered frame by frame
and its encoded packets are repeated (remuxed, not re-encoded), so a 5-minute 1080p source costs
no more memory or time to make than 2 seconds of it. Durations are rounded up to whole cycles.

Each engine then runs :func:`cleanplate.remove` from those files to an output mp4 (decode -> engine
-> encode) in a fresh Python process; the child reports the seconds of that call and its peak
resident memory (``ru_maxrss``, so nothing is missed between samples). A per-frame Telea pipeline
always runs in the same sweep as the reference, and each engine's speed is also given as a
ratio to it, and its time as a ratio to the first engine's at the same resolution and length.

Single runs on a shared machine vary by 10-20%. With ``repeat`` above 1, every engine runs that
many times, in rounds (each round runs every engine once, so a slow spell of the machine falls on
all of them alike), and a row reports the median time, with the fastest and slowest run beside it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..clip import VideoInfo
from ..errors import InputError
from ..progress import ProgressFn, report
from .specs import EngineSpec
from .measure import machine

log = logging.getLogger(__name__)

RESOLUTIONS = {"240p": (426, 240), "480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}
DURATIONS = (2.0, 30.0, 300.0)  # seconds
QUICK = (("240p", "480p"), (2.0,))
FPS = 25.0
CYCLE = 50  # frames rendered; longer sources repeat them (the motion loops there and back)
REFERENCE = "telea"


def parse_resolutions(text: str | None) -> list[str]:
    names = list(RESOLUTIONS) if text is None else [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in RESOLUTIONS]
    if bad or not names:
        raise InputError(f"--resolutions {text}", f"unknown resolution {bad[0] if bad else ''!r}",
                         f"choose from {', '.join(RESOLUTIONS)}")
    return names


def parse_durations(text: str | None) -> list[float]:
    if text is None:
        return list(DURATIONS)
    try:
        values = [float(t.strip().rstrip("s")) for t in text.split(",") if t.strip()]
    except ValueError:
        raise InputError(f"--durations {text}", "must be seconds, e.g. 2,30,300") from None
    if not values or min(values) <= 0:
        raise InputError(f"--durations {text}", "must be positive seconds, e.g. 2,30,300")
    return values


# -- sources ------------------------------------------------------------------------------------
def _repeat_packets(cycle: Path, out: Path, repeats: int) -> None:
    """Write ``cycle`` (one closed GOP of H.264) ``repeats`` times into ``out`` without re-encoding."""
    import av

    with av.open(str(cycle)) as src, av.open(str(out), "w", format="mp4") as dst:
        stream = src.streams.video[0]
        out_stream = dst.add_stream_from_template(stream)
        packets = [p for p in src.demux(stream) if p.size]
        span = int(round(CYCLE / FPS / stream.time_base))  # one cycle, in the stream's time base
        for k in range(repeats):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts = p.pts + k * span
                q.dts = p.dts + k * span
                q.duration = p.duration
                q.time_base = p.time_base
                q.is_keyframe = p.is_keyframe
                q.stream = out_stream
                dst.mux(q)


def make_source(folder: str | os.PathLike, size: tuple[int, int], seconds: float, seed: int = 0) -> tuple[Path, Path, int]:
    """Write ``input.mp4`` and ``mask.mp4`` of ``seconds`` (rounded up to whole cycles) under ``folder``.

    Streams: one rendered frame at a time, then packets are copied. Returns ``(video, mask, frames)``.
    """
    from ..io import open_writer
    from .synth import render_frames, sample_spec

    folder = Path(folder)
    repeats = max(1, int(np.ceil(seconds * FPS / CYCLE)))
    spec = sample_spec(seed, "shadow", size, CYCLE, camera="pan", motion="crossing", fps=FPS, period=CYCLE)
    info = VideoInfo(size[0], size[1], FPS, CYCLE)
    cycle_video, cycle_mask = folder / "cycle_input.mp4", folder / "cycle_mask.mp4"
    with ExitStack() as stack:
        video = stack.enter_context(open_writer(cycle_video, info, 18))
        mask = stack.enter_context(open_writer(cycle_mask, info, 0))
        for frame in render_frames(spec):
            video.write(frame.input)
            mask.write(np.repeat((frame.object.astype(np.uint8) * 255)[..., None], 3, axis=2))
    video_path, mask_path = folder / "input.mp4", folder / "mask.mp4"
    _repeat_packets(cycle_video, video_path, repeats)
    _repeat_packets(cycle_mask, mask_path, repeats)
    return video_path, mask_path, repeats * CYCLE


# -- one timed job in a child process -------------------------------------------------------------
def _job(args: dict) -> dict:
    """Run in the child: remove() from files to a file, timed; peak memory from ru_maxrss."""
    import resource
    import time

    import psutil

    from ..api import remove

    before = psutil.Process().memory_info().rss / 2 ** 20
    wall, cpu = time.perf_counter(), time.process_time()
    remove(args["video"], args["mask"], args["output"], engine=args["engine"], overwrite=True, **args["options"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak, "rss_before_mb": before}


def run_job(video: Path, mask: Path, output: Path, spec: EngineSpec, timeout: float | None = None) -> dict:
    """Time ``spec`` on files in a fresh Python process; returns the child's measurements."""
    import cleanplate

    env = dict(os.environ)
    package_root = str(Path(cleanplate.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    payload = json.dumps({"video": str(video), "mask": str(mask), "output": str(output),
                          "engine": spec.name, "options": spec.options})
    proc = subprocess.run([sys.executable, "-m", "cleanplate.bench.speed", payload], env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{spec.label} failed: {tail[0]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the sweep --------------------------------------------------------------------------------------
def _summarise(row: dict, runs: list[dict]) -> None:
    """Fill ``row`` from the child's measurements of ``runs`` (one or more of the same job)."""
    times = sorted(r["seconds"] for r in runs)
    row.update(seconds=float(np.median(times)), cpu_seconds=float(np.median([r["cpu_seconds"] for r in runs])),
               peak_rss_mb=max(r["peak_rss_mb"] for r in runs), rss_before_mb=max(r["rss_before_mb"] for r in runs),
               repeats=len(runs), seconds_min=times[0], seconds_max=times[-1])
    row["fps"] = row["frames"] / row["seconds"]


def run_speed(engines: list[EngineSpec], out_dir: str | os.PathLike, resolutions: list[str] | None = None,
              durations: list[float] | None = None, plots: bool = True, progress: ProgressFn | None = None,
              repeat: int = 1) -> dict:
    """Measure every engine at every resolution and length, ``repeat`` times each (see the module
    docstring); write speed.json, speed.md and a plot."""
    from .specs import parse_engine_spec
    from .runner import write_json

    resolutions = resolutions or list(RESOLUTIONS)
    durations = durations or list(DURATIONS)
    if any(s.oracle for s in engines):
        raise InputError("--engines", "oracle=1 has no meaning for --speed", "drop oracle=1")
    if repeat < 1:
        raise InputError(f"--repeat {repeat}", "must be at least 1", "e.g. --repeat 3")
    # Telea is slow at large sizes (about 5 frames/s at 480p here); unless asked for, it runs only at
    # the shortest length of each resolution, which is all its frames/s ratio needs.
    reference_only_short = REFERENCE not in [s.label for s in engines]
    if reference_only_short:
        engines = list(engines) + [parse_engine_spec(REFERENCE)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    total = len(resolutions) * len(durations) * len(engines) * repeat
    done = 0
    for res in resolutions:
        size = RESOLUTIONS[res]
        for seconds in durations:
            with tempfile.TemporaryDirectory(prefix="cleanplate-speed-") as tmp:
                video, mask, frames = make_source(tmp, size, seconds)
                log.info("source %s %gs: %d frames", res, seconds, frames)
                specs = [s for s in engines
                         if not (reference_only_short and s.label == REFERENCE and seconds > min(durations))]
                done += (len(engines) - len(specs)) * repeat
                measured: dict[str, list[dict]] = {s.label: [] for s in specs}
                errors: dict[str, str] = {}
                for _ in range(repeat):  # rounds: every engine once per round
                    for spec in specs:
                        if spec.label not in errors:
                            try:
                                measured[spec.label].append(run_job(video, mask, Path(tmp) / "out.mp4", spec))
                            except (RuntimeError, subprocess.TimeoutExpired) as err:
                                log.warning("%s", err)
                                errors[spec.label] = str(err)
                        done += 1
                        report(progress, "speed", done, total)
                for spec in specs:
                    row = {"engine": spec.label, "resolution": res, "width": size[0], "height": size[1],
                           "seconds_of_video": frames / FPS, "frames": frames, "error": errors.get(spec.label)}
                    if row["error"] is None:
                        _summarise(row, measured[spec.label])
                    rows.append(row)
    for row in rows:
        refs = [r for r in rows if r["engine"] == REFERENCE and r["resolution"] == row["resolution"] and r.get("fps")]
        ref = next((r for r in refs if r["frames"] == row["frames"]), refs[0] if refs else None)
        row["ratio_to_telea"] = row["fps"] / ref["fps"] if ref and row.get("fps") else None
        first = next((r for r in rows if r["engine"] == engines[0].label and r["resolution"] == row["resolution"]
                      and r["frames"] == row["frames"] and r.get("seconds")), None)
        row["time_vs_first"] = row["seconds"] / first["seconds"] if first and row.get("seconds") else None
    results = {"machine": machine(), "settings": {"engines": [e.label for e in engines], "resolutions": resolutions,
                                                   "durations": durations, "fps": FPS, "source": "synth shadow, pan",
                                                   "repeat": repeat},
               "runs": rows}
    write_json(out / "speed.json", results)
    if plots:
        from .plots import speed_plot

        results["plots"] = [p.name for p in [speed_plot(results, out / "plot_speed.png")] if p]
        write_json(out / "speed.json", results)
    from .report import write_speed_report

    write_speed_report(results, out / "speed.md")
    return results


if __name__ == "__main__":  # the child process of run_job
    print(json.dumps(_job(json.loads(sys.argv[1]))))
