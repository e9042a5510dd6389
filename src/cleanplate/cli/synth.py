"""``cleanplate synth OUT_DIR --clips N --seed S``."""

from __future__ import annotations

import sys

import click


@click.command("synth")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("-n", "--clips", default=12, show_default=True, help="How many clips.")
@click.option("--seed", default=0, show_default=True, help="Clip i uses seed SEED + i: same seed, same clips.")
@click.option("--size", default="320x192", show_default=True, help="WIDTHxHEIGHT.")
@click.option("--frames", default=24, show_default=True, help="Frames per clip.")
@click.option("--categories", default=None, help="Comma list, cycled over the clips (default: all six).")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def command(out_dir, clips, seed, size, frames, categories, no_progress):
    """Write N seeded synthetic paired clips (input, ground truth, masks) to OUT_DIR."""
    from ..bench.synth import CATEGORIES, parse_size, write_dataset
    from ..errors import InputError
    from .progressbar import progress_bar

    chosen = CATEGORIES if categories is None else tuple(c.strip() for c in categories.split(",") if c.strip())
    bad = [c for c in chosen if c not in CATEGORIES]
    if bad or not chosen:
        raise InputError(f"--categories {categories}", f"unknown category {bad[0] if bad else ''!r}",
                         f"choose from {', '.join(CATEGORIES)}")
    if clips < 1 or frames < 1:
        raise InputError("--clips/--frames", f"must be >= 1, got {clips}/{frames}")
    with progress_bar(enabled=not no_progress and sys.stderr.isatty()) as progress:
        paths = write_dataset(out_dir, clips, seed, parse_size(size), frames, chosen, progress=progress)
    click.echo(f"wrote {len(paths)} clips to {out_dir}")
