"""Put a mask's frames on a video's timeline.

A mask with one frame per video frame is used one to one; a mask with one frame is used for every
frame. A mask video with another frame rate covering the same stretch of time is aligned by
timestamp: each video frame takes the mask frame nearest to it in time (the earlier one on a tie).
Anything else — same frame rate but another length, durations that differ by more than a frame,
or a frame folder (which carries no timing) of another length — cannot be resolved and is an error.
"""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, TypeVar

from ..clip import VideoInfo
from ..errors import InputError

T = TypeVar("T")

_FIX = "give a mask with one frame per video frame (or a single image for a static mask)"


def frame_times(info: VideoInfo) -> Iterator[float]:
    """Presentation time of each frame in seconds from the first: timestamps if known, else i / fps."""
    if info.timestamps is not None:
        return iter(info.timestamps)
    return (i / info.fps for i in range(info.num_frames))


def duration(info: VideoInfo) -> float:
    """Seconds covered by the frames: the last frame's time plus one frame."""
    if info.timestamps is not None and len(info.timestamps) > 1:
        stamps = info.timestamps
        return stamps[-1] - stamps[0] + (stamps[-1] - stamps[0]) / (len(stamps) - 1)
    return info.num_frames / info.fps


def alignment(mask: VideoInfo, video: VideoInfo, timed: bool = True) -> str:
    """How to align ``mask`` to ``video``: ``"frames"`` (one to one), ``"static"`` or ``"time"``.

    ``timed`` is false when either side is a frame folder, whose frame rate is only assumed.
    Raises :class:`InputError` naming the mask when the two cannot be aligned.
    """
    if mask.num_frames == video.num_frames:
        return "frames"
    if mask.num_frames == 1:
        return "static"
    counts = f"has {mask.num_frames} frames but the video has {video.num_frames}"
    if not timed:
        raise InputError(mask.path or "mask", counts, _FIX)
    if abs(mask.fps - video.fps) <= 0.005 * video.fps:
        raise InputError(mask.path or "mask", f"{counts} at the same frame rate ({video.fps:g} fps)", _FIX)
    d_mask, d_video = duration(mask), duration(video)
    if abs(d_mask - d_video) > max(1.0 / mask.fps, 1.0 / video.fps) + 1e-3:
        raise InputError(mask.path or "mask",
                         f"lasts {d_mask:.2f} s ({mask.num_frames} frames at {mask.fps:g} fps) but the video lasts "
                         f"{d_video:.2f} s ({video.num_frames} frames at {video.fps:g} fps)", _FIX)
    return "time"


def nearest_in_time(targets: Iterable[float], times: Iterable[float], items: Iterable[T]) -> Iterator[T]:
    """For each target time (ascending), the item whose time (ascending) is nearest; streams.

    Holds two items at a time, so memory does not depend on the length of either sequence.
    """
    pairs = zip(times, items)
    current = next(pairs, None)
    if current is None:
        return
    following = next(pairs, None)
    for t in targets:
        while following is not None and abs(following[0] - t) < abs(current[0] - t) - 1e-9:
            current, following = following, next(pairs, None)
        yield current[1]


def aligned(mode: str, video: VideoInfo, mask: VideoInfo, masks: Iterable[T]) -> Iterator[T]:
    """The mask stream re-timed for the video by the ``mode`` :func:`alignment` chose."""
    if mode == "frames":
        yield from masks
    elif mode == "static":
        stream = iter(masks)
        first = next(stream)
        getattr(stream, "close", lambda: None)()
        yield from itertools.repeat(first, video.num_frames)
    else:
        yield from nearest_in_time(frame_times(video), frame_times(mask), masks)
