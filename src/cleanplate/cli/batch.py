"""``cleanplate batch``: many videos, or long ones in segments, on a Ray cluster.

Gathers the jobs (a manifest, matching folders, or one video) and calls
:func:`cleanplate.cluster.remove_many`, or :func:`cleanplate.cluster.remove_long` per job with
``--segments``/``--segment-seconds``.
"""

from __future__ import annotations

import sys
import time

import click

from ..errors import CleanplateError
from .shared import removal_options

_MANIFEST_SUFFIXES = (".csv", ".json")


class BatchFailed(CleanplateError):
    """Some jobs failed (each was reported on its own line); the others were written."""

    exit_code = 1


def _gather_jobs(source, mask, output, videos, masks, out, suffix):
    from ..cluster import Job, jobs_from_folders, read_manifest
    from ..errors import InputError

    folders = (videos, masks, out)
    if any(folders):
        if source or mask or output:
            raise InputError("--videos/--masks/--out", "cannot be combined with a manifest or a video",
                             "give one of: MANIFEST, VIDEO -m MASK -o OUT, or --videos/--masks/--out")
        if not all(folders):
            raise InputError("--videos/--masks/--out", "must be given together", "give all three folders")
        return jobs_from_folders(videos, masks, out, "" if suffix == "png" else f".{suffix}")
    if source is None:
        raise InputError("batch", "no jobs given", "give MANIFEST (.csv/.json), VIDEO -m MASK -o OUT, "
                         "or --videos DIR --masks DIR --out DIR")
    if str(source).lower().endswith(_MANIFEST_SUFFIXES) and not (mask or output):
        return read_manifest(source)
    if not (mask and output):
        raise InputError(source, "is not a .csv/.json manifest, so it is read as a video",
                         "give its mask with -m and its output with -o")
    return [Job(str(source), str(mask), str(output))]


def _remove_long_each(jobs, report, run: dict, split: dict, config: dict):
    """Each job through remove_long in turn, each spread over the whole cluster; one Ray session for all."""
    from ..cluster import JobResult, RayUnavailable, remove_long
    from ..cluster.ray_runner import open_runner

    results = []
    with open_runner(run["ray_address"], run["num_cpus"]):
        for job in jobs:
            began = time.perf_counter()
            try:
                remove_long(job.video, job.mask, job.output, progress=report, **run, **split, **config)
            except RayUnavailable:
                raise
            except CleanplateError as err:
                results.append(JobResult(job, "failed", time.perf_counter() - began, error=str(err)))
            else:
                results.append(JobResult(job, "ok", time.perf_counter() - began, output=job.output))
    return results


@click.command("batch")
@click.argument("source", required=False, type=click.Path())
@click.option("-m", "--mask", type=click.Path(), help="With a single VIDEO: its mask.")
@click.option("-o", "--output", type=click.Path(), help="With a single VIDEO: its output.")
@click.option("--videos", type=click.Path(), help="Folder of videos (files or frame folders); with --masks and --out.")
@click.option("--masks", type=click.Path(), help="Folder of their masks, matched to the videos by name.")
@click.option("--out", type=click.Path(), help="Folder to write the results to, each named after its video.")
@click.option("--format", "suffix", type=click.Choice(["mp4", "mov", "mkv", "png"]), default="mp4",
              show_default=True, help="With --out: the output format (png: a folder of frames per video).")
@click.option("--ray", "ray_address", metavar="auto|ADDRESS|local",
              help="Run on Ray: auto (the cluster this machine joined), a cluster address, or local "
                   "(start Ray here). Without it, jobs run one after the other in this process.")
@click.option("--workers", type=click.IntRange(min=1),
              help="CPUs of the local Ray started for the run (implies --ray local).")
@click.option("--cpus-per-job", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="CPUs each task reserves on its node (and the threads it may use).")
@click.option("--gpus-per-job", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="GPUs each task reserves (diffusion engine: 1, or e.g. 0.5 to share one).")
@click.option("--segments", type=click.IntRange(min=1),
              help="Split each video into this many segments, run side by side.")
@click.option("--segment-seconds", type=click.FloatRange(min=0, min_open=True),
              help="Split each video into segments of about this many seconds.")
@click.option("--overlap", default=8, show_default=True, type=click.IntRange(min=0),  # long.DEFAULT_OVERLAP
              help="With segments: frames of context on each side, crossfaded where segments meet.")
@click.option("--work-dir", type=click.Path(),
              help="With segments: a folder every worker can reach, for the segments' frames "
                   "(default: beside the output).")
@removal_options
def command(source, mask, output, videos, masks, out, suffix, ray_address, workers, cpus_per_job, gpus_per_job,
            segments, segment_seconds, overlap, work_dir, engine, engine_options, side_effect_pairs, progress, **options):
    """Clean many videos — listed in SOURCE (a .csv/.json manifest of video,mask,output), matched by
    name across --videos/--masks folders, or one VIDEO with -m/-o — on a Ray cluster."""
    from ..cluster import remove_many
    from ..errors import InputError
    from .options import parse_engine_options, parse_side_effect_options
    from .progressbar import progress_bar

    jobs = _gather_jobs(source, mask, output, videos, masks, out, suffix)
    if workers is not None:
        if ray_address not in (None, "local"):
            raise InputError("--workers", f"sets the CPUs of a local Ray, not of --ray {ray_address}",
                             "drop --workers; the cluster's nodes bring their own CPUs")
        ray_address = "local"
    config = dict(options)
    config.update(parse_engine_options(engine, engine_options))
    if side_effect_pairs:
        config["side_effect_options"] = parse_side_effect_options(side_effect_pairs)
    show = sys.stderr.isatty() if progress is None else progress
    run = dict(engine=engine, ray_address=ray_address, num_cpus_per_job=cpus_per_job, num_gpus_per_job=gpus_per_job,
               num_cpus=workers)
    with progress_bar(enabled=show) as report:
        if segments is None and segment_seconds is None:
            results = remove_many(jobs, progress=report, **run, **config)
        else:
            split = dict(segments=segments, segment_seconds=segment_seconds, overlap=overlap, work_dir=work_dir)
            results = _remove_long_each(jobs, report, run, split, config)
    failed = [r for r in results if not r.ok]
    for record in results:
        if record.ok:
            click.echo(f"wrote {record.output}")
        else:
            click.echo(f"failed {record.job.video}: {record.error}", err=True)
    if failed:
        rest = "; the others were written" if len(failed) < len(results) else ""
        raise BatchFailed(f"{len(failed)} of {len(results)} jobs failed{rest}")
