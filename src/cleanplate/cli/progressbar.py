"""A tqdm progress bar behind the library's progress callback."""

from __future__ import annotations

import sys
from contextlib import contextmanager


@contextmanager
def progress_bar(enabled: bool = True):
    """Yield a ``progress(stage, done, total)`` callback that draws one bar per running stage.

    A stage's bar is removed once it reaches its total, so finished stages do not linger.
    """
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="frame", file=sys.stderr,
                                     leave=False, dynamic_ncols=True)
        bar.total = total
        bar.n = done
        bar.refresh()
        if total is not None and done >= total:
            bars.pop(stage).close()

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()
