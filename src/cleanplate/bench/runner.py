"""Run engines on paired clips and collect quality, time and memory: the core of ``cleanplate bench``.

Each engine runs on each clip through :func:`cleanplate.remove` (arrays in, arrays out), with the
object-only mask, or with the ground-truth quadmask for ``oracle=1`` specs. Wall-clock and CPU
seconds are measured around that call; memory by sampling the process's RSS in a thread during it
(:class:`~cleanplate.bench.measure.PeakRSS`: ``peak_rss_mb`` is the whole process, ``rss_growth_mb``
the rise during the call). Clips are loaded one at a time; the ground truth's optical flow is
computed once per clip and shared by all engines.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path

import numpy as np

from ..errors import CleanplateError, OutputError
from ..progress import ProgressFn, report
from .specs import EngineSpec
from .loaders import ClipSource, PairedClip
from .measure import PeakRSS, Timer, machine
from .metrics import METRIC_KEYS, evaluate_clip, evaluate_unpaired, reference_flows, warp_error

log = logging.getLogger(__name__)

RESULTS = "results.json"


def run_engine_on_clip(clip: PairedClip, spec: EngineSpec) -> tuple[np.ndarray, dict]:
    """Run one engine spec on one clip: ``(output (T, H, W, 3) uint8, measurements)``."""
    from ..api import remove

    mask = clip.quadmask() if spec.oracle else clip.object
    with PeakRSS() as memory, Timer() as timer:
        output = remove(clip.input, mask, engine=spec.name, **spec.options)
    return output, {
        "seconds": timer.seconds, "cpu_seconds": timer.cpu_seconds,
        "fps": len(clip.input) / timer.seconds if timer.seconds > 0 else None,
        "peak_rss_mb": memory.peak_mb, "rss_growth_mb": memory.growth_mb,
    }


def score(clip: PairedClip, output: np.ndarray, flows, lpips=None) -> dict:
    if clip.gt is None:
        scores = evaluate_unpaired(output, clip.input, clip.object)
        if lpips is not None:
            scores["lpips"] = None  # no reference to compare with
        return scores
    side = clip.side if clip.side is not None else np.zeros_like(clip.object)
    return evaluate_clip(output, clip.gt, clip.object, side, flows, lpips)


def showcase_frame(clip: PairedClip) -> int:
    """The frame with the largest region to fill (object + side effect): the one to look at."""
    hole = clip.object if clip.side is None else clip.object | clip.side
    areas = hole.reshape(len(hole), -1).sum(1)
    return int(areas.argmax()) if areas.any() else len(hole) // 2


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarize(runs: list[dict], engines: list[str]) -> dict:
    """Means per engine (``overall``) and per category and engine (``by_category``), None-aware."""
    def block(selected):
        out = {}
        for label in engines:
            mine = [r for r in selected if r["engine"] == label and r.get("error") is None]
            if not mine:
                continue
            entry = {k: _mean(r["metrics"].get(k) for r in mine) for k in METRIC_KEYS}
            frames = sum(r["frames"] for r in mine)
            seconds = sum(r["seconds"] for r in mine)
            entry.update(clips=len(mine), seconds_per_clip=seconds / len(mine),
                         fps=frames / seconds if seconds > 0 else None,
                         peak_rss_mb=max(r["peak_rss_mb"] for r in mine),
                         rss_growth_mb=max(r["rss_growth_mb"] for r in mine))
            out[label] = entry
        return out

    categories = list(dict.fromkeys(r["category"] for r in runs))  # in the order the clips came
    return {"overall": block(runs),
            "by_category": {c: block([r for r in runs if r["category"] == c]) for c in categories}}


def write_json(path: Path, data) -> None:
    """Write JSON atomically (temporary name, then rename)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def run_benchmark(sources: list[ClipSource], engines: list[EngineSpec], out_dir: str | os.PathLike,
                  lpips_weights: str | None = None, i3d_weights: str | None = None, grids: bool = True,
                  plots: bool = True, settings: dict | None = None, overwrite: bool = False,
                  progress: ProgressFn | None = None) -> dict:
    """Run every engine on every clip; write results.json, report.md, plots and frame grids to ``out_dir``.

    Returns the results dictionary (the content of results.json).
    """
    from .grids import write_grid
    from .lpips import load_lpips
    from .vfid import load_i3d, vfid

    out = Path(out_dir)
    if (out / RESULTS).exists() and not overwrite:
        raise OutputError(out / RESULTS, "already exists", "pass --overwrite or choose another --out folder")
    if not sources:
        raise CleanplateError("no clips to benchmark")
    out.mkdir(parents=True, exist_ok=True)
    lpips = load_lpips(lpips_weights)
    i3d = load_i3d(i3d_weights)
    labels = [e.label for e in engines]
    features: dict[str, tuple[list, list]] = {label: ([], []) for label in labels}
    runs, clips = [], []
    total = len(sources) * len(engines)
    for i, source in enumerate(sources):
        clip = source.load()
        t, h, w = clip.object.shape
        clips.append({"name": clip.name, "category": clip.category, "frames": t, "size": [w, h],
                      "has_gt": clip.gt is not None, "meta": clip.meta})
        flows = reference_flows(clip.gt) if clip.gt is not None else None
        if flows is not None:  # the footage's own temporal error: what an engine's Ewarp is judged against
            hole = clip.object if clip.side is None else clip.object | clip.side
            clips[-1]["gt_ewarp"] = {"ewarp": warp_error(clip.gt, flows),
                                     "ewarp_hole": warp_error(clip.gt, flows, hole)}
        at = showcase_frame(clip)
        shown = {}
        gt_features = i3d(clip.gt) if i3d is not None and clip.gt is not None else None
        for j, spec in enumerate(engines):
            run = {"clip": clip.name, "category": clip.category, "engine": spec.label, "frames": t, "error": None}
            try:
                output, measured = run_engine_on_clip(clip, spec)
            except Exception as err:  # noqa: BLE001 - one failing engine must not stop the benchmark
                log.warning("%s failed on %s: %s", spec.label, clip.name, err, exc_info=log.isEnabledFor(logging.DEBUG))
                run.update(error=f"{err.__class__.__name__}: {err}", metrics={k: None for k in METRIC_KEYS},
                           seconds=None, cpu_seconds=None, fps=None, peak_rss_mb=None, rss_growth_mb=None)
                runs.append(run)
                continue
            run.update(measured)
            run["metrics"] = score(clip, output, flows, lpips)
            runs.append(run)
            shown[spec.label] = output[at]
            if gt_features is not None:
                features[spec.label][0].append(i3d(output))
                features[spec.label][1].append(gt_features)
            report(progress, "bench", i * len(engines) + j + 1, total)
            log.info("%s on %s: %.2fs, PSNR %s", spec.label, clip.name, measured["seconds"], run["metrics"]["psnr"])
        if grids:
            (out / "grids").mkdir(exist_ok=True)
            write_grid(out / "grids" / f"{clip.name.replace('/', '__')}.png", clip, at, shown)
    sets = {label: {"vfid": vfid(*features[label]) if i3d is not None else None} for label in labels}
    results = {
        "machine": machine(),
        "settings": {**(settings or {}), "engines": labels, "lpips": lpips_weights is not None,
                     "vfid": i3d_weights is not None},
        "clips": clips,
        "runs": runs,
        "sets": sets,
        "summary": summarize(runs, labels),
    }
    write_json(out / RESULTS, results)
    from .report import write_report

    if plots:
        from .plots import write_plots

        results["plots"] = [p.name for p in write_plots(results, out)]
        write_json(out / RESULTS, results)
    write_report(results, out / "report.md")
    return results
