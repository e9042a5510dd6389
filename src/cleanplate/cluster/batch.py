"""Many videos at once: :func:`remove_many` runs each job through :func:`cleanplate.remove` as a Ray task."""

from __future__ import annotations

import logging
import socket
import time
from typing import Iterable

from ..errors import CleanplateError
from ..progress import ProgressFn, report
from .jobs import Job, JobResult, check_distinct_outputs
from .ray_runner import one_line, open_runner

log = logging.getLogger(__name__)


def run_job(job: Job, engine: str, config: dict) -> JobResult:
    """Clean one job's video where this runs; any failure becomes a ``"failed"`` record with a one-line error."""
    from ..api import remove

    host = socket.gethostname()
    began = time.perf_counter()
    try:
        remove(job.video, job.mask, job.output, engine=engine, **config)
    except Exception as err:  # one job's failure must not end the batch
        if not isinstance(err, CleanplateError):
            log.exception("%s: failed", job.video)
        return JobResult(job, "failed", time.perf_counter() - began, error=one_line(err), host=host)
    return JobResult(job, "ok", time.perf_counter() - began, output=job.output, host=host)


def check_config(engine: str, config: dict) -> None:
    """Refuse an unknown engine or a bad option here, before any task is sent out."""
    from ..api import _split_options

    _split_options(engine, config)


def remove_many(jobs: Iterable, engine: str = "propagate", ray_address: str | None = None,
                num_cpus_per_job: float = 1, progress: ProgressFn | None = None, num_cpus: int | None = None,
                num_gpus_per_job: float = 0, **config) -> list[JobResult]:
    """Remove the masked object from many videos, each job a Ray task; one :class:`JobResult` per job, in order.

    ``jobs``: :class:`Job` objects or ``(video, mask, output)`` triples; relative paths are made
    absolute here, so every worker must see the files at the same paths. ``ray_address``: ``None``
    (run them one after the other in this process, no Ray needed), ``"local"`` (start Ray on this
    machine with ``num_cpus`` CPUs), ``"auto"`` or a cluster address (see
    :mod:`cleanplate.cluster.ray_runner`). Each task reserves ``num_cpus_per_job`` CPUs and
    ``num_gpus_per_job`` GPUs (for the diffusion engine: 1, or a fraction to share one). ``config``
    holds :class:`cleanplate.RemoveOptions` fields and the engine's options, as for
    :func:`cleanplate.remove`.

    A job that fails — a bad input, an output that exists without ``overwrite=True``, a crashed
    worker — is reported in its record (``status="failed"``, a one-line ``error``); the others go
    on. ``progress("jobs", done, total)`` is called as each job finishes. The driver holds only the
    records, so its memory does not grow with the videos' length.
    """
    jobs = [Job.of(job).absolute() for job in jobs]
    check_distinct_outputs(jobs)
    check_config(engine, config)
    results: list[JobResult | None] = [None] * len(jobs)
    report(progress, "jobs", 0, len(jobs))
    with open_runner(ray_address, num_cpus) as runner:
        log.info("%d jobs on %s", len(jobs), runner.where)
        outcomes = runner.run(run_job, [(job, engine, config) for job in jobs], num_cpus_per_job, num_gpus_per_job)
        for done, (index, record, error) in enumerate(outcomes, 1):
            if record is None:  # the task itself died (e.g. its worker was killed)
                record = JobResult(jobs[index], "failed", error=error)
            results[index] = record
            if record.ok:
                log.info("%s: done in %.1f s on %s", record.job.output, record.seconds, record.host)
            else:
                log.info("%s: failed: %s", record.job.video, record.error)
            report(progress, "jobs", done, len(jobs))
    return results
