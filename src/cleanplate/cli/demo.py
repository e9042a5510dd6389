"""``cleanplate demo [--out DIR]``."""

from __future__ import annotations

import sys

import click


@click.command("demo")
@click.option("-o", "--out", default="cleanplate-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for input.mp4, output.mp4, side_by_side.mp4 and mask.mp4.")
@click.option("-e", "--engine", default="propagate", show_default=True, help="Engine to remove the object with.")
@click.option("--size", default="432x240", show_default=True, help="Clip size, WIDTHxHEIGHT.")
@click.option("--frames", default=40, show_default=True, help="Clip length in frames.")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def command(out, engine, size, frames, no_progress):
    """Remove an object and its shadow from a built-in clip; print where the videos are and the PSNR."""
    from ..bench.synth import parse_size
    from ..demo import run_demo
    from ..errors import InputError
    from .progressbar import progress_bar

    if frames < 2:
        raise InputError(f"--frames {frames}", "must be at least 2")
    with progress_bar(enabled=not no_progress and sys.stderr.isatty()) as progress:
        result = run_demo(out, engine=engine, size=parse_size(size), frames=frames, progress=progress)
    click.echo(f"input        {result.input}")
    click.echo(f"output       {result.output}")
    click.echo(f"side by side {result.side_by_side}")
    click.echo(f"mask         {result.mask}")
    click.echo(f"engine {result.engine}, side effects {result.side_effects}")
    click.echo(f"PSNR against the clean background: {result.psnr:.2f} dB whole frame, "
               f"{result.psnr_hole:.2f} dB in the hole (object + shadow; the input scores {result.psnr_input_hole:.2f} dB there)")
