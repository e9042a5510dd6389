"""The ``cleanplate`` command. Each subcommand gathers options and calls one library function.

Commands live in their own modules and import heavy libraries only inside the command body, so
``cleanplate --help`` starts fast.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading

import click

from ..errors import CleanplateError

_COMMAND_MODULES = ("remove", "demo", "synth", "bench", "train", "batch")


class _EchoHandler(logging.Handler):
    """Library log records as ``warning: ...`` lines on the current stderr (found at each call)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = f"{record.levelname.lower()}: {record.getMessage()}"
            if "tqdm" in sys.modules:  # a progress bar may be on screen: print above it
                sys.modules["tqdm"].tqdm.write(line, file=sys.stderr)
            else:
                click.echo(line, err=True)
        except Exception:  # never let logging break a run
            self.handleError(record)


def _configure_logging(verbose: int) -> None:
    logger = logging.getLogger("cleanplate")
    for handler in [h for h in logger.handlers if isinstance(h, _EchoHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(_EchoHandler())
    logger.setLevel(max(logging.WARNING - 10 * verbose, logging.DEBUG))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cleanplate")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Remove an object from a video, and its shadow, reflection and light."""
    _configure_logging(verbose)


for _name in _COMMAND_MODULES:
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _err:  # a command not written yet
        if _err.name != f"{__name__}.{_name}":
            raise
        continue
    cli.add_command(_module.command)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the CLI, turning user errors into one line and a non-zero exit.

    Ctrl-C and SIGTERM stop the run the same way: temporary outputs are removed, exit code 130.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        cli.main(args=argv, prog_name="cleanplate", standalone_mode=False)
    except CleanplateError as err:
        click.echo(f"error: {err}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        click.echo("error: interrupted; no output was written", err=True)
        return 130
    except click.exceptions.Abort:
        click.echo("error: interrupted; no output was written", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
