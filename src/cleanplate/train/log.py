"""The loss log: one JSON line per step, and a PNG plot of it (matplotlib, Agg, no display)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path


class LossLog:
    """Appends ``{"step": n, "loss": ..., ...}`` lines to ``path``.

    ``truncate(step)`` drops lines after ``step``: a resumed run rewrites the steps it repeats.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def truncate(self, step: int) -> None:
        if not self.path.exists():
            return
        keep = [line for line in self.read() if line["step"] <= step]
        self._rewrite(keep)

    def _rewrite(self, records: list[dict]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
        os.replace(tmp, self.path)

    def write(self, record: dict) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def running_mean(values, window: int | None = None) -> list[float]:
    """Mean of the last ``window`` values at each point (default: a twentieth of the run, >= 1)."""
    window = window or max(1, len(values) // 20)
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot_log(records: list[dict], path: str | os.PathLike, keys: tuple[str, ...] = ("loss", "flow", "oird")) -> Path:
    """Plot each of ``keys`` against ``step``, raw (faint) and as a running mean, on a log scale when
    all are positive; write the PNG atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    figure = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positive = True
    for key in keys:
        points = [(r["step"], r[key]) for r in records if key in r and math.isfinite(r[key])]
        if points:
            steps, values = zip(*points)
            raw, = axes.plot(steps, values, linewidth=0.6, alpha=0.35)
            axes.plot(steps, running_mean(values), color=raw.get_color(), linewidth=1.5, label=key)
            positive &= min(values) > 0
    if records and positive:
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.grid(True, alpha=0.3)
    if axes.lines:
        axes.legend()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    figure.savefig(tmp)
    os.replace(tmp, path)
    return path
