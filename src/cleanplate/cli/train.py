"""``cleanplate train CONFIG.yaml [--resume]``."""

from __future__ import annotations

import sys

import click


@click.command("train")
@click.argument("config")
@click.option("--resume", is_flag=True, help="Continue the run in the config's out_dir from its latest checkpoint.")
@click.option("--no-progress", is_flag=True, help="Do not draw a progress bar.")
def command(config, resume, no_progress):
    """Train the diffusion engine as CONFIG says (a YAML file, or a bundled config name: toy)."""
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        from ..errors import EngineUnavailable

        raise EngineUnavailable("training needs torch — pip install 'cleanplate[diffusion]'") from None
    from ..train.config import load_config
    from ..train.trainer import train
    from .progressbar import progress_bar

    settings = load_config(config)
    with progress_bar(enabled=not no_progress and sys.stderr.isatty()) as progress:
        out = train(settings, resume=resume, progress=progress)
    click.echo(f"trained to step {settings.steps}: checkpoints, loss.jsonl and loss.png in {out}")
