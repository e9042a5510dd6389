"""Run tasks on a Ray cluster, or one after the other in this process.

:func:`open_runner` gives a runner for a ``ray_address``:

- ``None``: no Ray at all; tasks run in this process, one after the other;
- ``"local"``: a Ray instance started on this machine for the run (``num_cpus`` CPUs, all by
  default), shut down afterwards;
- ``"auto"``: the running cluster this machine belongs to (``ray start --head`` / ``ray start
  --address=...``, or ``RAY_ADDRESS``);
- any other string: that cluster's address (``"10.0.0.5:6379"``, ``"ray://head:10001"``).

If Ray is already initialised in this process (a notebook, a test), that session is used as it is
and left running. Ray is imported here only, when asked for: ``pip install 'cleanplate[cluster]'``.

A runner's :meth:`run` submits every task at once and yields ``(index, value, error)`` as each task
finishes, in whatever order they finish: ``error`` is a one-line message when the task raised
(or its worker died), else ``None``. Each Ray task reserves ``num_cpus`` of a node's CPUs (and
``num_gpus`` GPUs, which Ray makes the only ones the task sees), so the cluster runs as many at a
time as it has resources for; a task's own OpenCV threads are held to its CPUs.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from ..errors import CleanplateError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'cleanplate[cluster]'"

Outcome = tuple[int, Any, "str | None"]
TASK_RETRIES = 1  # a task whose worker died (its node lost, or killed for memory) is run once more


class RayUnavailable(CleanplateError):
    """Ray was asked for but is not installed, or no cluster answered at the address given."""


def import_ray(subject: str = "--ray"):
    """``import ray``, or a one-line :class:`RayUnavailable` that says how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"{subject}: needs Ray, which is not installed — {INSTALL_HINT}") from None
    return ray


def one_line(err: BaseException) -> str:
    """An exception as one line: a :class:`CleanplateError` as it is, anything else with its type."""
    if isinstance(err, CleanplateError):
        text = str(err)
    else:
        text = f"{err.__class__.__name__}: {err}".strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else err.__class__.__name__


def limit_threads(num_cpus: float) -> None:
    """Hold this worker's OpenCV (and, if loaded, torch) threads to the CPUs its task reserved."""
    import sys

    import cv2

    threads = max(1, int(num_cpus))
    cv2.setNumThreads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


class InProcessRunner:
    """Runs each task in this process, one after the other, when the caller asks for the next result."""

    where = "this process"

    def run(self, fn: Callable, args: Sequence[tuple], num_cpus: float = 1, num_gpus: float = 0) -> Iterator[Outcome]:
        for index, task_args in enumerate(args):
            try:
                yield index, fn(*task_args), None
            except Exception as err:  # reported per task, as a Ray task's failure is
                log.debug("task %d failed", index, exc_info=True)
                yield index, None, one_line(err)


def _in_worker(fn: Callable, num_cpus: float, *args):
    limit_threads(num_cpus)
    return fn(*args)


class RayRunner:
    """Submits tasks as Ray remote functions and yields their results as they finish."""

    def __init__(self, ray):
        self.ray = ray
        resources = ray.cluster_resources()
        self.where = f"Ray ({int(resources.get('CPU', 0))} CPUs on {len(ray.nodes())} nodes)"

    def run(self, fn: Callable, args: Sequence[tuple], num_cpus: float = 1, num_gpus: float = 0) -> Iterator[Outcome]:
        ray = self.ray
        remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=TASK_RETRIES)(_in_worker)
        index = {remote.remote(fn, num_cpus, *task_args): i for i, task_args in enumerate(args)}
        pending = list(index)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        yield index[ref], ray.get(ref), None
                    except ray.exceptions.RayError as err:
                        cause = getattr(err, "cause", None)
                        yield index[ref], None, one_line(cause if isinstance(cause, BaseException) else err)
        finally:
            for ref in pending:  # stopped early (an error or Ctrl-C): do not leave work running
                ray.cancel(ref)


@contextmanager
def open_runner(ray_address: str | None, num_cpus: int | None = None):
    """A runner for ``ray_address`` (see the module docstring); a Ray instance it started is shut down after."""
    if ray_address is None:
        yield InProcessRunner()
        return
    ray = import_ray(f"--ray {ray_address}")
    started = False
    if ray.is_initialized():
        log.info("using the Ray session already running in this process")
    elif ray_address == "local":
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
        started = True
    else:
        try:
            ray.init(address=ray_address, logging_level=logging.WARNING)
        except (ConnectionError, TimeoutError) as err:
            raise RayUnavailable(f"--ray {ray_address}: no Ray cluster answered ({one_line(err)}) — start one "
                                 "with 'ray start --head', or use --ray local") from None
        started = True
    try:
        runner = RayRunner(ray)
        log.info("running on %s", runner.where)
        yield runner
    finally:
        if started:
            ray.shutdown()
