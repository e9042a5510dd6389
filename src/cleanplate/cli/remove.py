"""``cleanplate remove VIDEO --mask MASK -o OUT``: gathers options, calls :func:`cleanplate.remove`."""

from __future__ import annotations

import sys

import click

from .shared import removal_options


@click.command("remove")
@click.argument("video", type=click.Path())
@click.option("-m", "--mask", required=True, type=click.Path(),
              help="Mask video, folder or image: white = remove, or a quadmask (0 remove, 63 overlap, "
                   "127 affected, 255 keep).")
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Output .mp4/.mov/.mkv, or a folder for PNG frames.")
@removal_options
@click.option("--save-mask", type=click.Path(), help="Also write the region that was replaced.")
@click.option("--save-quadmask", type=click.Path(), help="Also write the quadmask used, to inspect or edit.")
@click.option("--compare", type=click.Path(), help="Also write input and output side by side.")
@click.option("--model", type=click.Path(), help="diffusion: a cleanplate checkpoint or a Wan2.1/Fun-InP folder.")
@click.option("--prior", type=click.Choice(["none", "propagate"]), help="diffusion: start from the propagate result.")
@click.option("--strength", type=float, help="diffusion: with --prior, noise level to start from (0 keeps the prior).")
@click.option("--second-pass", is_flag=True, default=None, help="diffusion: re-denoise from flow-warped noise (2x time).")
@click.option("--steps", type=int, help="diffusion: denoising steps.")
def command(video, mask, output, engine, engine_options, side_effect_pairs, progress, model, prior, strength, second_pass, steps,
            **options):
    """Remove the masked object from VIDEO and write the clean plate to OUTPUT."""
    from ..api import remove
    from ..errors import InputError
    from .options import parse_engine_options, parse_side_effect_options
    from .progressbar import progress_bar

    config = {k: v for k, v in options.items() if v is not None}
    diffusion = dict(model=model, prior=prior, strength=strength, second_pass=second_pass, steps=steps)
    diffusion = {k: v for k, v in diffusion.items() if v is not None}
    if diffusion and engine != "diffusion":
        flag = "--" + next(iter(diffusion)).replace("_", "-")
        raise InputError(flag, f"only applies to --engine diffusion, not {engine}", "add --engine diffusion or drop it")
    config.update(diffusion)
    config.update(parse_engine_options(engine, engine_options))
    if side_effect_pairs:
        config["side_effect_options"] = parse_side_effect_options(side_effect_pairs)
    show = sys.stderr.isatty() if progress is None else progress
    with progress_bar(enabled=show) as report:
        path = remove(video, mask, output, engine=engine, progress=report, **config)
    click.echo(f"wrote {path}")
