"""PNG plots of a benchmark run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np

PLOTTED = (("psnr", "PSNR (dB)"), ("psnr_hole", "PSNR in the hole (dB)"), ("psnr_side", "PSNR in the side effect (dB)"),
           ("psnr_keep", "PSNR in the keep region (dB)"), ("ssim", "SSIM"), ("ssim_hole", "SSIM in the hole"),
           ("ewarp", "Ewarp ×10³ (lower is better)"), ("ewarp_hole", "Ewarp in the hole ×10³ (lower is better)"),
           ("lpips", "LPIPS (lower is better)"))


def _plain_log_axis(axis) -> None:
    """Label a log axis with plain numbers (10, 20, 50) and no crowded minor labels."""
    from matplotlib import ticker

    axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    return path


def metric_by_category(results: dict, key: str, title: str, path: Path) -> Path | None:
    """Grouped bars: one group per category (and "all"), one bar per engine. None if nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    engines = results["settings"]["engines"]
    groups = {**results["summary"]["by_category"], "all": results["summary"]["overall"]}
    scale = 1000.0 if key.startswith("ewarp") else 1.0
    values = np.array([[np.nan if (v := groups[g].get(e, {}).get(key)) is None else v * scale for e in engines]
                       for g in groups], dtype=float)
    if np.isnan(values).all():
        return None
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(groups) * max(1, len(engines)) / 3), 3.6))
    width = 0.8 / len(engines)
    x = np.arange(len(groups))
    for i, engine in enumerate(engines):
        ax.bar(x + (i - (len(engines) - 1) / 2) * width, values[:, i], width, label=engine)
    ax.set_xticks(x, list(groups), rotation=20)
    ax.set_ylabel(title)
    ax.set_title(f"{title} by category")
    finite = values[np.isfinite(values)]
    if key.startswith("psnr") and finite.size:
        ax.set_ylim(max(0.0, finite.min() - 5), finite.max() + 2)
    ax.legend(fontsize=7, ncol=min(4, len(engines)))
    ax.grid(axis="y", alpha=0.3)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def quality_vs_speed(results: dict, path: Path, key: str = "psnr_hole") -> Path | None:
    """One point per engine: frames per second (log scale) against quality in the hole."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(e, v.get("fps"), v.get(key)) for e, v in results["summary"]["overall"].items()]
    points = [(e, f, q) for e, f, q in points if f and q is not None]
    if not points:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for engine, fps, quality in points:
        ax.scatter(fps, quality, s=40)
        ax.annotate(engine, (fps, quality), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xscale("log")
    _plain_log_axis(ax.xaxis)
    ax.set_xlabel("frames per second (log)")
    ax.set_ylabel(dict(PLOTTED).get(key, key))
    ax.set_title("quality against speed (up and right is better)")
    ax.grid(alpha=0.3)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)


def write_plots(results: dict, out_dir: str | os.PathLike) -> list[Path]:
    """Every plot of a run, written under ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    paths = [metric_by_category(results, key, title, out / f"plot_{key}.png") for key, title in PLOTTED]
    paths.append(quality_vs_speed(results, out / "plot_quality_vs_speed.png"))
    return [p for p in paths if p is not None]


def speed_plot(results: dict, path: Path) -> Path | None:
    """Frames/s and peak memory against resolution: one line per engine and length."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in results["runs"] if r.get("fps")]
    if not runs:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for (engine, length) in sorted({(r["engine"], r["seconds_of_video"]) for r in runs}):
        mine = sorted((r for r in runs if r["engine"] == engine and r["seconds_of_video"] == length),
                      key=lambda r: r["height"])
        heights = [r["height"] for r in mine]
        label = f"{engine}, {length:g} s"
        left.plot(heights, [r["fps"] for r in mine], marker="o", label=label)
        right.plot(heights, [r["peak_rss_mb"] for r in mine], marker="o", label=label)
    for ax, title in ((left, "frames per second"), (right, "peak memory (MB, RSS)")):
        ax.set_xlabel("frame height (px)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    left.set_yscale("log")
    _plain_log_axis(left.yaxis)
    left.legend(fontsize=7)
    try:
        return _save(fig, path)
    finally:
        plt.close(fig)
