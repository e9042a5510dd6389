"""The list of videos to clean: jobs, manifests, and the record each job leaves.

A job is one ``(video, mask, output)`` triple, paths as :func:`cleanplate.remove` takes them. A
manifest lists jobs:

- CSV with a header row naming the columns ``video``, ``mask``, ``output`` (others are ignored);
- JSON: a list of ``{"video": ..., "mask": ..., "output": ...}`` objects, or ``{"jobs": [...]}``.

Relative paths in a manifest are relative to the manifest's folder, and are made absolute, so
workers on other machines find the same files where the storage is shared at the same path.
:func:`jobs_from_folders` pairs each video of a folder with the mask of the same name instead.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, OutputError
from ..io.images import is_image, list_images
from ..io.outputs import VIDEO_FORMATS
from ..io.video import VIDEO_SUFFIXES

COLUMNS = ("video", "mask", "output")


@dataclass(frozen=True)
class Job:
    """One video to clean: read ``video`` and ``mask``, write ``output``."""

    video: str
    mask: str
    output: str

    @classmethod
    def of(cls, job) -> "Job":
        """A :class:`Job` from a Job, a ``(video, mask, output)`` sequence or a mapping with those keys."""
        if isinstance(job, Job):
            return job
        if isinstance(job, dict):
            missing = [c for c in COLUMNS if not job.get(c)]
            if missing:
                raise InputError(f"job {job}", f"has no {missing[0]}", "give video, mask and output for every job")
            return cls(*(os.fspath(job[c]) for c in COLUMNS))
        parts = tuple(job)
        if len(parts) != 3:
            raise InputError(f"job {parts}", "is not a (video, mask, output) triple")
        return cls(*(os.fspath(p) for p in parts))

    def absolute(self) -> "Job":
        """The same job with absolute paths (relative to this process's folder), as a worker elsewhere needs."""
        return Job(*(os.path.abspath(os.path.expanduser(p)) for p in (self.video, self.mask, self.output)))


@dataclass(frozen=True)
class JobResult:
    """What became of one job: ``status`` is ``"ok"`` (``output`` written) or ``"failed"`` (``error``, one line)."""

    job: Job
    status: str
    seconds: float = 0.0
    output: str | None = None
    error: str | None = None
    host: str | None = None  # the machine that ran it

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _absolute(value: str, base: Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).absolute())


def read_manifest(path: str | os.PathLike) -> list[Job]:
    """Jobs listed in a CSV or JSON manifest (see the module docstring), paths made absolute."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist" if not path.exists() else "is not a file", "check the manifest path")
    base = path.absolute().parent
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot be read ({err.__class__.__name__})", "give a UTF-8 CSV or JSON file") from None
    if suffix == ".json":
        rows = _json_rows(path, text)
    elif suffix == ".csv":
        rows = _csv_rows(path, text)
    else:
        raise InputError(path, f"is not a manifest ({suffix or 'no suffix'})",
                         "give a .csv with columns video,mask,output or a .json list of jobs")
    jobs = []
    for number, row in rows:
        missing = [c for c in COLUMNS if not str(row.get(c) or "").strip()]
        if missing:
            raise InputError(f"{path}, job {number}", f"has no {missing[0]}",
                             "give video, mask and output for every job")
        jobs.append(Job(*(_absolute(str(row[c]).strip(), base) for c in COLUMNS)))
    if not jobs:
        raise InputError(path, "lists no jobs", "add one row per video: video,mask,output")
    return jobs


def _json_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(path, f"is not valid JSON (line {err.lineno}: {err.msg})", "fix the file") from None
    if isinstance(data, dict):
        data = data.get("jobs")
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise InputError(path, "is not a list of jobs", 'write [{"video": ..., "mask": ..., "output": ...}, ...]')
    return list(enumerate(data, 1))


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(text.splitlines())
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(path, f"has no {missing[0]!r} column", "start it with the header row video,mask,output")
    reader.fieldnames = header
    rows = []
    for number, row in enumerate(reader, 1):
        if any((value or "").strip() for value in row.values() if isinstance(value, str)):
            rows.append((number, row))
    return rows


def _by_stem(folder: Path, what: str) -> dict[str, Path]:
    """Videos (files with a video suffix, or frame folders) or masks (those, or images) in ``folder``, by name."""
    if not folder.is_dir():
        raise InputError(folder, "is not a folder", f"give the folder that holds the {what}")
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        usable = (entry.suffix.lower() in VIDEO_SUFFIXES or (entry.is_dir() and list_images(entry))
                  or (what == "masks" and entry.is_file() and is_image(entry)))
        if not usable:
            continue
        if entry.stem in found:
            raise InputError(entry, f"has the same name as {found[entry.stem].name}",
                             f"keep one {what[:-1]} per name in {folder}")
        found[entry.stem] = entry
    return found


def jobs_from_folders(videos: str | os.PathLike, masks: str | os.PathLike, out: str | os.PathLike,
                      suffix: str = ".mp4") -> list[Job]:
    """One job per video in ``videos``: the mask of the same name in ``masks``, written to ``out/NAME{suffix}``.

    ``suffix`` is ``.mp4``, ``.mov`` or ``.mkv``, or ``""`` for PNG frame folders.
    """
    videos, masks, out = Path(videos).absolute(), Path(masks).absolute(), Path(out).absolute()
    if suffix and suffix.lower() not in VIDEO_FORMATS:
        raise InputError(f"suffix {suffix}", "is not an output format", "use .mp4, .mov, .mkv or '' for PNG folders")
    if not out.is_dir():
        raise OutputError(out, "is not a folder", "create it first")
    found_videos, found_masks = _by_stem(videos, "videos"), _by_stem(masks, "masks")
    if not found_videos:
        raise InputError(videos, "holds no videos or frame folders", "point --videos at the folder of videos")
    jobs = []
    for stem, video in found_videos.items():
        mask = found_masks.get(stem)
        if mask is None:
            raise InputError(video, f"has no mask named {stem}.* in {masks}", "add its mask, or move the video out")
        jobs.append(Job(str(video), str(mask), str(out / f"{stem}{suffix}")))
    return jobs


def check_distinct_outputs(jobs: list[Job]) -> None:
    """Refuse two jobs that would write the same output (each would overwrite the other's)."""
    seen: dict[str, Job] = {}
    for job in jobs:
        key = os.path.normcase(os.path.abspath(job.output))
        if key in seen:
            raise OutputError(job.output, f"is the output of two jobs ({seen[key].video} and {job.video})",
                              "give each job its own output")
        seen[key] = job
