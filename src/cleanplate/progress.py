"""Progress reporting: one callback signature for the whole library.

Library code never prints. Long work calls ``progress(stage, done, total)`` where ``stage`` names
the step ("flow", "fill", "encode", ...), ``done`` counts finished units and ``total`` is the number
expected (``None`` when unknown). The CLI turns these calls into a progress bar.
"""

from __future__ import annotations

from typing import Callable, Optional

ProgressFn = Callable[[str, int, Optional[int]], None]


def report(progress: ProgressFn | None, stage: str, done: int, total: int | None = None) -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(stage, done, total)
