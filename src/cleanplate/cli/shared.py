"""Options every command that removes objects takes (``remove``, ``batch``): one definition.

Only click is imported here, so ``--help`` stays fast.
"""

from __future__ import annotations

import click

_REMOVAL_OPTIONS = (
    click.option("-e", "--engine", default="propagate", show_default=True,
                 help="propagate (CPU, no weights) or diffusion."),
    click.option("--side-effects", type=click.Choice(["auto", "off"]), default="off", show_default=True,
                 help="auto: also remove the object's shadow and reflection."),
    click.option("--invert-mask", is_flag=True, help="The mask is black where the object is."),
    click.option("--mask-kind", type=click.Choice(["auto", "binary", "quadmask"]), default="auto", show_default=True,
                 help="How to read the mask; auto recognises a quadmask by its grey levels."),
    click.option("--dilate", default=4, show_default=True, help="Grow the mask by this many pixels."),
    click.option("--feather", default=3, show_default=True, help="Blend ramp inside the hole edge, pixels."),
    click.option("--quality", default=18, show_default=True, type=click.IntRange(0, 51),
                 help="x264 CRF (lower = better, larger)."),
    click.option("--overwrite", is_flag=True, help="Replace existing outputs."),
    click.option("-O", "--option", "engine_options", multiple=True, metavar="KEY=VALUE",
                 help="Engine option, e.g. -O window=60 (repeatable)."),
    click.option("-S", "--side-effect-option", "side_effect_pairs", multiple=True, metavar="KEY=VALUE",
                 help="Side-effect estimation option, e.g. -S max_fraction=0.5 (repeatable; with --side-effects auto)."),
    click.option("--progress/--no-progress", default=None,
                 help="Draw a progress bar (default: only when stderr is a terminal)."),
)


def removal_options(command):
    """Decorator: add the shared removal options to a click command, in the order listed."""
    for option in reversed(_REMOVAL_OPTIONS):
        command = option(command)
    return command
