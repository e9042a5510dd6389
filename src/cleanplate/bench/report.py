"""``report.md``: the benchmark's results as tables a person reads (see docs/bench.md)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

# (key, header, format) of the quality columns; Ewarp is shown x1000.
QUALITY_COLUMNS = (
    ("psnr", "PSNR", "{:.2f}"), ("psnr_hole", "PSNR hole", "{:.2f}"), ("psnr_object", "PSNR obj", "{:.2f}"),
    ("psnr_side", "PSNR side", "{:.2f}"), ("psnr_keep", "PSNR keep", "{:.2f}"), ("ssim", "SSIM", "{:.4f}"),
    ("ssim_hole", "SSIM hole", "{:.4f}"), ("ewarp", "Ewarp ×10³", "{:.3f}"), ("ewarp_hole", "Ewarp hole ×10³", "{:.3f}"),
    ("lpips", "LPIPS", "{:.4f}"),
)
SPEED_COLUMNS = (("seconds_per_clip", "s/clip", "{:.2f}"), ("fps", "frames/s", "{:.1f}"),
                 ("rss_growth_mb", "mem +MB", "{:.0f}"), ("peak_rss_mb", "peak RSS MB", "{:.0f}"))


def cell(value, fmt: str, scale: float = 1.0) -> str:
    """A table cell: ``n/a`` for a missing value (never a made-up number)."""
    if value is None:
        return "n/a"
    return fmt.format(value * scale)


def table(rows: dict[str, dict], columns, extra: dict[str, dict] | None = None) -> list[str]:
    head = ["engine"] + [c[1] for c in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, entry in rows.items():
        values = {**entry, **((extra or {}).get(label, {}))}
        cells = [f"`{label}`"] + [cell(values.get(key), fmt, 1000.0 if key.startswith("ewarp") else 1.0)
                                  for key, _, fmt in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def gt_ewarp_line(clips: list[dict]) -> list[str]:
    """The ground truth's own warping error over ``clips``: the floor an engine's Ewarp is read against."""
    own = [c["gt_ewarp"] for c in clips if c.get("gt_ewarp")]
    if not own:
        return []
    whole = cell(float(np.mean([o["ewarp"] for o in own])), "{:.3f}", 1000.0)
    holes = [o["ewarp_hole"] for o in own if o["ewarp_hole"] is not None]
    hole = cell(float(np.mean(holes)), "{:.3f}", 1000.0) if holes else "n/a"
    return ["", f"Ground truth's own Ewarp ×10³: {whole} (hole {hole}): an engine near these figures flickers "
                "no more than the footage itself."]


def render(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    summary = results["summary"]
    lines = ["# cleanplate bench", "",
             f"finished {m['date']} · cleanplate {m['cleanplate']} · {m['processor']} · {m['cpus_usable']} CPUs usable"
             f" · {m['memory_gb']} GB · Python {m['python']}", ""]
    dataset = s.get("dataset", "?")
    lines += [f"Data: {dataset}. Engines: {', '.join(f'`{e}`' for e in s['engines'])}. "
              f"{len(results['clips'])} clips.", "",
              "How to read this: see docs/bench.md. Higher is better for PSNR and SSIM; lower is better "
              "for Ewarp, LPIPS and VFID. `n/a`: not applicable (e.g. no side effect in the clip) or "
              "unavailable (LPIPS/VFID without local weights). `hole` = object + side effect.", ""]
    extra = {label: {"vfid": results["sets"].get(label, {}).get("vfid")} for label in s["engines"]}
    lines += ["## All clips", ""]
    lines += table(summary["overall"], QUALITY_COLUMNS + (("vfid", "VFID", "{:.3f}"),), extra)
    lines += gt_ewarp_line(results["clips"])
    lines += ["", "## Speed and memory", "",
              "Seconds through `cleanplate.remove` (arrays in and out: no decoding or encoding). Memory is "
              "this process's resident set sampled during the call: `peak RSS` is the whole process, "
              "`mem +MB` the rise during the call (Python keeps memory it freed, so later engines can read "
              "low; `cleanplate bench --speed` measures memory in a fresh process per job).", ""]
    lines += table(summary["overall"], SPEED_COLUMNS)
    for category, rows in summary["by_category"].items():
        n = sum(1 for c in results["clips"] if c["category"] == category)
        lines += ["", f"## {category} ({n} clip{'s' if n != 1 else ''})", ""]
        lines += table(rows, QUALITY_COLUMNS)
        lines += gt_ewarp_line([c for c in results["clips"] if c["category"] == category])
    failed = [r for r in results["runs"] if r.get("error")]
    if failed:
        lines += ["", "## Failures", ""] + [f"- `{r['engine']}` on {r['clip']}: {r['error']}" for r in failed]
    lines += ["", "## Clips", "", "| clip | category | camera | object motion | frames | size |", "|---|---|---|---|---|---|"]
    for c in results["clips"]:
        meta = c.get("meta", {})
        lines.append(f"| {c['name']} | {c['category']} | {meta.get('camera', '')} | {meta.get('motion', '')} "
                     f"| {c['frames']} | {c['size'][0]}x{c['size'][1]} |")
    if results.get("plots"):
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in results["plots"]]
    lines += ["", "Frame grids are in `grids/`, one per clip at the frame with the largest hole: the input "
              "(object outlined red, side effect yellow) beside the ground truth, then each engine's output "
              "beside its error (×4, black = exact).", ""]
    return "\n".join(lines)


def write_report(results: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(render(results))
    os.replace(tmp, path)
    return path


def render_speed(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    repeat = s.get("repeat", 1)
    first = s["engines"][0]
    lines = ["# cleanplate bench --speed", "",
             f"finished {m['date']} · cleanplate {m['cleanplate']} · {m['processor']} · {m['cpus_usable']} CPUs usable"
             f" · {m['memory_gb']} GB · load average {m.get('load_average')}", "",
             f"End to end through files (decode -> engine -> encode, H.264), {s['fps']:g} fps sources "
             f"({s['source']}). Each job runs in a fresh process; peak memory is its maximum resident set "
             "(including Python and libraries, ~100-200 MB). `× telea` is frames/s relative to the per-frame "
             f"Telea pipeline at the same resolution and length; `time × {first}` is the time relative to "
             f"`{first}`'s.", ""]
    if repeat > 1:
        lines += [f"Every job ran {repeat} times, in rounds (each round runs every engine once); `s` is the "
                  "median, `range` the fastest and slowest run.", ""]
    spread = " range |" if repeat > 1 else ""
    lines += [f"| engine | resolution | length | frames | s |{spread} frames/s | × telea | time × {first} | peak RSS MB |",
              "|---|---|---|---|---|" + ("---|" if repeat > 1 else "") + "---|---|---|---|"]
    for r in results["runs"]:
        head = f"| `{r['engine']}` | {r['resolution']} | {r['seconds_of_video']:g} s | {r['frames']} | "
        if r.get("error"):
            lines.append(head + f"failed: {r['error']} |" + (" |" if repeat > 1 else "") + " | | | |")
            continue
        rng = f" {r['seconds_min']:.1f}–{r['seconds_max']:.1f} |" if repeat > 1 else ""
        lines.append(head + f"{r['seconds']:.1f} |{rng} {r['fps']:.1f} | {cell(r.get('ratio_to_telea'), '{:.2f}')} | "
                     f"{cell(r.get('time_vs_first'), '{:.2f}')} | {r['peak_rss_mb']:.0f} |")
    if results.get("plots"):
        lines += ["", *[f"![{p}]({p})" for p in results["plots"]]]
    return "\n".join(lines) + "\n"


def write_speed_report(results: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(render_speed(results))
    os.replace(tmp, path)
    return path
