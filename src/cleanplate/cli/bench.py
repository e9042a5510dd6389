"""``cleanplate bench --synth N | --data DIR [--engines ...] --out DIR``, and ``--speed``."""

from __future__ import annotations

import sys

import click


@click.command("bench")
@click.option("--data", type=click.Path(exists=True, file_okay=False), help="Paired dataset folder (synth, ROSE-style or DAVIS-style).")
@click.option("--synth", type=int, help="Generate N synthetic clips on the fly instead.")
@click.option("--seed", default=0, show_default=True, help="First seed of --synth clips.")
@click.option("--size", default="320x192", show_default=True, help="--synth clip size, WIDTHxHEIGHT.")
@click.option("--frames", default=24, show_default=True, help="--synth frames per clip.")
@click.option("--categories", default=None, help="--synth categories, comma list (default: all six).")
@click.option("-e", "--engines", default=None,
              help="Comma list of engine specs, name or name:key=value (e.g. telea:oracle=1). "
                   "Default: propagate,telea,median,input (those installed).")
@click.option("-o", "--out", default="bench-out", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--lpips", "lpips_weights", type=click.Path(exists=True), help="Local LPIPS weights (file or folder); else LPIPS is n/a.")
@click.option("--i3d", "i3d_weights", type=click.Path(exists=True, dir_okay=False), help="Local I3D weights for VFID; else VFID is n/a.")
@click.option("--no-grids", is_flag=True, help="Skip the per-clip frame grids.")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--overwrite", is_flag=True, help="Replace results already in --out.")
@click.option("--speed", is_flag=True, help="Measure frames/s and memory against resolution and length instead.")
@click.option("--quick", is_flag=True, help="--speed: 240p and 480p, 2 s only.")
@click.option("--resolutions", default=None, help="--speed: comma list of 240p,480p,720p,1080p (default: all).")
@click.option("--durations", default=None, help="--speed: comma list of seconds (default: 2,30,300).")
@click.option("--repeat", default=1, show_default=True,
              help="--speed: run every job this many times, in rounds, and report the median.")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def command(data, synth, seed, size, frames, categories, engines, out, lpips_weights, i3d_weights, no_grids,
            no_plots, overwrite, speed, quick, resolutions, durations, repeat, no_progress):
    """Run engines on paired clips and write results.json, report.md, plots and frame grids to --out."""
    from ..errors import InputError
    from .progressbar import progress_bar

    from ..bench.specs import parse_engine_specs

    specs = parse_engine_specs(engines)
    bar = progress_bar(enabled=not no_progress and sys.stderr.isatty())
    if speed:
        from ..bench import speed as sp

        if quick and (resolutions or durations):
            raise InputError("--quick", "cannot be combined with --resolutions/--durations", "use one or the other")
        res = list(sp.QUICK[0]) if quick else sp.parse_resolutions(resolutions)
        dur = list(sp.QUICK[1]) if quick else sp.parse_durations(durations)
        with bar as progress:
            sp.run_speed(specs, out, res, dur, plots=not no_plots, progress=progress, repeat=repeat)
        click.echo(f"wrote {out}/speed.md and speed.json")
        return
    if (data is None) == (synth is None):
        raise InputError("--data/--synth", "give exactly one of them", "e.g. --synth 12 or --data DIR")
    from ..bench.loaders import open_dataset, synth_sources
    from ..bench.runner import run_benchmark
    from ..bench.synth import CATEGORIES, parse_size

    if synth is not None:
        if synth < 1:
            raise InputError(f"--synth {synth}", "must be at least 1")
        chosen = CATEGORIES if categories is None else tuple(c.strip() for c in categories.split(",") if c.strip())
        bad = [c for c in chosen if c not in CATEGORIES]
        if bad or not chosen:
            raise InputError(f"--categories {categories}", f"unknown category {bad[0] if bad else ''!r}",
                             f"choose from {', '.join(CATEGORIES)}")
        w, h = parse_size(size)
        sources = synth_sources(synth, seed, (w, h), frames, chosen)
        dataset = f"{synth} synthetic clips (seed {seed}, {w}x{h}, {frames} frames)"
    else:
        sources = open_dataset(data)
        dataset = f"{data} ({len(sources)} clips)"
    with bar as progress:
        results = run_benchmark(sources, specs, out, lpips_weights, i3d_weights, grids=not no_grids,
                                plots=not no_plots, settings={"dataset": dataset}, overwrite=overwrite,
                                progress=progress)
    failed = sum(1 for r in results["runs"] if r.get("error"))
    click.echo(f"wrote {out}/report.md and results.json ({len(results['runs'])} runs"
               + (f", {failed} failed: see the report" if failed else "") + ")")
