"""One long video over a cluster: :func:`remove_long` splits it into segments, one Ray task each.

1. The driver checks the output and the inputs (as :func:`cleanplate.remove` does) and plans the
   segments (:mod:`.segments`).
2. Each task decodes only its frames (:mod:`.ranges`), runs the engine on them with ``overlap``
   frames of context on each side, and writes them as a lossless PNG folder into a work folder that
   every worker can reach.
3. The driver stitches the segments in order as they become ready, crossfading across each overlap,
   into the output — written under a temporary name, with the input's audio, and moved into place
   at the end. Each segment's folder is deleted once it has been stitched.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import CleanplateError, InputError
from ..progress import ProgressFn, report
from .batch import check_config
from .ray_runner import open_runner
from .ranges import open_range_clip
from .segments import Segment, plan_segments, segment_count, stitch

log = logging.getLogger(__name__)

DEFAULT_OVERLAP = 8  # frames of context on each side of a segment, crossfaded where two meet
_NOT_PER_SEGMENT = ("save_mask", "save_quadmask", "compare")


class SegmentFailed(CleanplateError):
    """A segment's task failed; nothing was written."""


def run_segment(video: str, mask: str, segment: Segment, folder: str, engine: str, config: dict,
                invert_mask: bool, mask_kind: str) -> float:
    """Clean frames ``[read_start, read_stop)`` of ``video`` into the PNG folder ``folder``; the seconds it took."""
    from ..api import remove

    began = time.perf_counter()
    clip = open_range_clip(video, mask, segment.read_start, segment.read_stop, invert_mask, mask_kind)
    remove(clip, None, folder, engine=engine, **config)
    return time.perf_counter() - began


def _folder(work: Path, segment: Segment) -> Path:
    return work / f"segment-{segment.index:04d}"


def _segment_frames(folder: Path) -> Iterator[np.ndarray]:
    """A segment's frames, its folder deleted once they have been read (or the stream closed)."""
    from ..io import open_video

    try:
        yield from open_video(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_long(video: str | os.PathLike, mask: str | os.PathLike, output: str | os.PathLike,
                engine: str = "propagate", segments: int | None = None, segment_seconds: float | None = None,
                overlap: int = DEFAULT_OVERLAP, ray_address: str | None = None, num_cpus_per_job: float = 1,
                num_cpus: int | None = None, num_gpus_per_job: float = 0, work_dir: str | os.PathLike | None = None,
                progress: ProgressFn | None = None, **config) -> Path:
    """Remove the masked object from one long video, split into ``segments`` run side by side.

    Give ``segments`` (how many) or ``segment_seconds`` (about how long each). Every segment's
    engine sees ``overlap`` frames beyond its own on each side; across each boundary the two
    results are crossfaded over ``2 * overlap`` frames. A per-frame engine (``telea``) gives exactly
    :func:`cleanplate.remove`'s result. A temporal engine may not: each segment sees only its own
    frames and their overlap, and the engine's windows start at the segment's first frame.

    ``work_dir`` holds the segments' lossless PNG frames until they are stitched — about a PNG per
    frame at the video's size, so give a roomy folder that every worker can reach; by default, a
    hidden folder beside ``output``. ``ray_address``, ``num_cpus_per_job``, ``num_gpus_per_job`` and
    ``num_cpus`` are as for :func:`~cleanplate.cluster.remove_many`; ``config`` as for
    :func:`cleanplate.remove`, less ``save_mask``, ``save_quadmask`` and ``compare``. Progress: ``("segments", done, total)`` as
    tasks finish, ``("write", frames, total)`` as the output is stitched. Returns ``output``.
    """
    from ..api import RemoveOptions
    from ..io import check_outputs, open_mask, open_video

    # 1. Check the options, the output and the inputs before any work.
    for name in _NOT_PER_SEGMENT:
        if config.get(name):
            raise InputError(name, "is not available when a video is split into segments",
                             "run cleanplate remove for the extra outputs")
    if not all(isinstance(p, (str, os.PathLike)) for p in (video, mask)):
        raise InputError("video", "must be a path when it is split into segments", "write the frames to a file first")
    video, mask = (os.path.abspath(os.path.expanduser(p)) for p in (video, mask))  # the same file for every worker
    check_config(engine, config)
    options = RemoveOptions(**{k: v for k, v in config.items() if k in RemoveOptions.__dataclass_fields__})
    output = Path(output)
    check_outputs([output], (video, mask), options.overwrite)
    source = open_video(video)
    masks = open_mask(mask, source.info, options.invert_mask, options.mask_kind, progress)
    info = source.info
    plan = plan_segments(info.num_frames, segment_count(info.num_frames, info.fps, segments, segment_seconds), overlap)
    task_config = {k: v for k, v in config.items() if k not in ("overwrite", "invert_mask", "mask_kind")}
    task_config["overwrite"] = True

    # 2. A work folder for the segments, removed whatever happens.
    parent = Path(work_dir).absolute() if work_dir is not None else output.absolute().parent
    if not parent.is_dir():
        raise InputError(parent, "is not a folder", "give an existing folder that every worker can reach")
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.segments-", dir=parent))
    try:
        with open_runner(ray_address, num_cpus) as runner:
            log.info("%s: %d frames in %d segments on %s", video, info.num_frames, len(plan), runner.where)
            args = [(video, mask, seg, str(_folder(work, seg)), engine, task_config, masks.invert, masks.kind)
                    for seg in plan]
            outcomes = runner.run(run_segment, args, num_cpus_per_job, num_gpus_per_job)
            try:
                _write(output, info, options.quality, _ready_in_order(plan, outcomes, progress),
                       lambda seg: _segment_frames(_folder(work, seg)), progress)
            finally:
                outcomes.close()  # stops (cancels) any task still running after a failure
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("wrote %s", output)
    return output


def _ready_in_order(plan: list[Segment], outcomes, progress: ProgressFn | None) -> Iterator[Segment]:
    """Yield the segments in order, each once its task has finished; raise if one failed."""
    finished: dict[int, float] = {}
    count = 0
    report(progress, "segments", 0, len(plan))
    for segment in plan:
        while segment.index not in finished:
            index, seconds, error = next(outcomes)
            if error is not None:
                failed = plan[index]
                raise SegmentFailed(f"segment {index + 1} of {len(plan)} (frames {failed.read_start}-"
                                    f"{failed.read_stop - 1}) failed: {error}")
            finished[index] = seconds
            count += 1
            log.debug("segment %d done in %.1f s", index, seconds)
            report(progress, "segments", count, len(plan))
        yield segment


def _write(output: Path, info, quality: int, plan: Iterator[Segment], load, progress: ProgressFn | None) -> None:
    from ..io import open_writer

    audio = info.path if info.has_audio else None
    with open_writer(output, info, quality, audio_from=audio) as writer:
        for i, frame in enumerate(stitch(plan, load)):
            writer.write(frame)
            report(progress, "write", i + 1, info.num_frames)
        if writer.count != info.num_frames:
            raise RuntimeError(f"stitched {writer.count} frames of {info.num_frames}")
