"""Evaluate trained diffusion models on held-out synthetic pairs: the tables of docs/training.md.

Run it (from the repository root, after ``cleanplate train shipped`` and the ablation configs)::

    python -m cleanplate.train.evaluate --model src/cleanplate/models/undereraser-tiny \\
        --untrained runs/shipped/dit --ablation baseline=runs/ablation/baseline/model \\
        --ablation +OIRD=runs/ablation/oird/model --ablation +OIRD+FCCA=runs/ablation/full/model \\
        --clips 12 --out results/model

Every engine runs through the benchmark (:func:`cleanplate.bench.runner.run_benchmark`, the same
code as ``cleanplate bench``) on clips of :mod:`cleanplate.bench.synth` whose seeds start at
``--seed`` (default 1 000 000: training draws seeds from 0 up, one per sample seen, far below it).
Every engine gets the ground-truth quadmask (object + side effect, ``oracle=1``), so each is asked
to remove the same region. ``--out`` receives the benchmark's own files (results.json, report.md,
plots, frame grids) and ``tables.md`` / ``tables.json``:

1. the shipped model against its untrained initialisation, the propagate engine, and propagate
   as the prior refined by the shipped model (DiffuEraser prior injection at ``--strength``);
2. the ablation in the form of UnderEraser's Table 3 (baseline; +OIRD; +OIRD+FCCA), each row a model
   trained with the same budget, run without a prior so the rows differ only by the model.

PSNR is reported inside the object, inside the side effect, and over the whole frame
(:mod:`cleanplate.bench.metrics`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from ..errors import InputError

log = logging.getLogger(__name__)

HELD_OUT_SEED = 1_000_000
COLUMNS = (("psnr_object", "PSNR object"), ("psnr_side", "PSNR side effect"), ("psnr", "PSNR whole"),
           ("ssim_hole", "SSIM hole"), ("seconds_per_clip", "s / clip"))


def engine_rows(model: str | None, untrained: str | None, ablations: dict[str, str], steps: int,
                strength: float) -> list[tuple[str, str, str]]:
    """``(table, label, engine spec)`` for every row of both tables."""
    diffusion = f"diffusion:oracle=1,steps={steps},model="
    rows = []
    if untrained:
        rows.append(("main", "untrained initialisation", diffusion + untrained))
    if model:
        rows.append(("main", "shipped model", diffusion + model))
    rows.append(("main", "propagate", "propagate:oracle=1"))
    if model:
        rows.append(("main", f"propagate + shipped model (s={strength:g})",
                     f"{diffusion}{model},prior=propagate,strength={strength:g}"))
    rows += [("ablation", name, diffusion + path) for name, path in ablations.items()]
    return rows


def _cell(value, fmt: str = "{:.2f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def render_tables(results: dict, rows: list[tuple[str, str, str]], settings: dict) -> str:
    """Markdown tables from a benchmark's results (its ``summary.overall`` means)."""
    overall = results["summary"]["overall"]
    head = "| | " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COLUMNS)
    lines = [f"Held-out synthetic pairs: {settings['dataset']}. Every engine is given the ground-truth "
             f"quadmask (object + side effect). Means over clips; PSNR in dB.", ""]
    titles = {"main": "Shipped model", "ablation": "Ablation (UnderEraser Table 3 form; no prior)"}
    for table in ("main", "ablation"):
        mine = [(label, spec) for t, label, spec in rows if t == table]
        if not mine:
            continue
        lines += [f"### {titles[table]}", "", head, rule]
        for label, spec in mine:
            entry = overall.get(label)
            if entry is None:
                lines.append(f"| {label} | " + " | ".join("failed" for _ in COLUMNS) + " |")
                continue
            lines.append(f"| {label} | " + " | ".join(
                _cell(entry.get(key), "{:.1f}" if key == "seconds_per_clip" else "{:.3f}" if key == "ssim_hole"
                      else "{:.2f}") for key, _ in COLUMNS) + " |")
        lines.append("")
    by_category = results["summary"]["by_category"]
    labels = [label for t, label, _ in rows if t == "main"]
    lines += ["### PSNR whole frame by category", "", "| category | " + " | ".join(labels) + " |",
              "|---|" + "---:|" * len(labels)]
    for category, entries in by_category.items():
        lines.append(f"| {category} | " + " | ".join(_cell(entries.get(label, {}).get("psnr")) for label in labels) + " |")
    return "\n".join(lines) + "\n"


def evaluate(model: str | None, out: str | os.PathLike, untrained: str | None = None, ablations: dict[str, str] | None = None,
             clips: int = 12, seed: int = HELD_OUT_SEED, size: tuple[int, int] = (320, 192), frames: int = 24,
             steps: int = 10, strength: float = 0.5, overwrite: bool = False, progress=None) -> Path:
    """Run the tables' engines on ``clips`` held-out synthetic pairs; write everything to ``out``."""
    try:
        from ..bench.loaders import synth_sources
        from ..bench.runner import run_benchmark
        from ..bench.specs import parse_engine_spec
    except ModuleNotFoundError:
        raise InputError("evaluation", "needs cleanplate.bench, which is not installed",
                         "install cleanplate with its benchmark") from None
    out = Path(out)
    if untrained is not None and (Path(untrained) / "run.json").is_file():  # a run: export its initialisation
        from .export import export_model

        untrained = str(export_model(untrained, out / "untrained-model", weights="init"))
    for path in [model, untrained, *(ablations or {}).values()]:
        if path is not None and not (Path(path) / "model_index.json").is_file():
            raise InputError(path, "is not a model folder (no model_index.json)",
                             "export the run first (export: PATH in its config, or cleanplate.train.export)")
    rows = engine_rows(model, untrained, dict(ablations or {}), steps, strength)
    specs = []
    for _, label, text in rows:
        spec = parse_engine_spec(text)
        spec.label = label
        specs.append(spec)
    dataset = f"{clips} clips, seeds {seed}-{seed + clips - 1}, {size[0]}x{size[1]}, {frames} frames"
    settings = {"dataset": dataset, "steps": steps, "strength": strength}
    results = run_benchmark(synth_sources(clips, seed, size, frames), specs, out, settings=settings,
                            overwrite=overwrite, progress=progress)
    tables = render_tables(results, rows, settings)
    (out / "tables.md").write_text(tables)
    summary = {label: results["summary"]["overall"].get(label) for _, label, _ in rows}
    (out / "tables.json").write_text(json.dumps({"settings": settings, "rows": rows, "overall": summary}, indent=1))
    return out


def _size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cleanplate.train.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="the trained model folder (e.g. the shipped one); without it, "
                                        "only propagate and the ablation rows run")
    parser.add_argument("--untrained", help="its untrained initialisation: a model folder, or the training run "
                                            "(its initialisation is exported to OUT/untrained-model)")
    parser.add_argument("--ablation", action="append", default=[], metavar="NAME=FOLDER",
                        help="an ablation row: a model folder trained with the same budget (repeatable, in order)")
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first held-out seed")
    parser.add_argument("--size", default="320x192")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--steps", type=int, default=10, help="denoising steps of every diffusion row")
    parser.add_argument("--strength", type=float, default=0.5, help="noise level the propagate prior is refined from")
    parser.add_argument("--out", default="results/model")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    ablations = dict(item.split("=", 1) for item in args.ablation)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = evaluate(args.model, args.out, args.untrained, ablations, args.clips, args.seed, _size(args.size),
                   args.frames, args.steps, args.strength, args.overwrite)
    print((out / "tables.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
