"""Split one long video into overlapping segments, and stitch their results back in order.

The ``T`` frames are cut at boundaries ``b_k = k * T // N`` into ``N`` *cores* that cover every frame
exactly once. Segment ``k`` computes its core widened by ``overlap`` frames on each side (clipped to
the video): ``[b_k - overlap, b_{k+1} + overlap)``. Around each inner boundary ``b`` two segments
therefore both hold the ``2 * overlap`` frames ``[b - overlap, b + overlap)``; :func:`stitch` crossfades
them there, the later segment's weight rising linearly from ``1 / (4 * overlap)`` to
``1 - 1 / (4 * overlap)``, so each segment has least say where it saw least context (its own edge)
and no seam shows. Elsewhere each output frame is the one segment's frame, untouched.

A core must be at least ``2 * overlap`` frames long, so that a frame lies in at most two segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Segment:
    """One piece of a long video: frames ``[start, stop)`` are its own, ``[read_start, read_stop)`` computed."""

    index: int
    start: int
    stop: int
    read_start: int
    read_stop: int

    @property
    def read_length(self) -> int:
        return self.read_stop - self.read_start


def segment_count(num_frames: int, fps: float, segments: int | None = None,
                  segment_seconds: float | None = None) -> int:
    """How many segments: ``segments`` as given, or ``num_frames`` cut into pieces of about ``segment_seconds``."""
    if (segments is None) == (segment_seconds is None):
        raise InputError("segments", "give either a number of segments or segment_seconds, not both or neither",
                         "e.g. --segments 8 or --segment-seconds 60")
    if segments is not None:
        if segments < 1:
            raise InputError("--segments", f"must be >= 1, got {segments}")
        return segments
    if not segment_seconds > 0:
        raise InputError("--segment-seconds", f"must be > 0, got {segment_seconds}")
    per_segment = segment_seconds * fps
    return max(1, round(num_frames / per_segment))


def plan_segments(num_frames: int, count: int, overlap: int) -> list[Segment]:
    """``count`` segments over ``num_frames`` frames with ``overlap`` frames of context on each side.

    Raises :class:`InputError` when a core would be shorter than ``2 * overlap`` frames.
    """
    if overlap < 0:
        raise InputError("--overlap", f"must be >= 0, got {overlap}")
    if count < 1 or num_frames < count:
        raise InputError("--segments", f"{count} segments cannot split {num_frames} frames",
                         f"use between 1 and {num_frames} segments")
    shortest = num_frames // count
    if count > 1 and shortest < 2 * overlap:
        most = max(1, num_frames // max(2 * overlap, 1))
        raise InputError("--segments", f"{count} segments of {num_frames} frames are {shortest} frames each, "
                         f"shorter than twice the overlap ({overlap})",
                         f"use at most {most} segment{'s' if most > 1 else ''}, or a smaller --overlap")
    cuts = [k * num_frames // count for k in range(count + 1)]
    return [Segment(k, cuts[k], cuts[k + 1], max(cuts[k] - overlap, 0), min(cuts[k + 1] + overlap, num_frames))
            for k in range(count)]


def crossfade_weights(overlap: int) -> np.ndarray:
    """Weight ``(2 * overlap,) float32`` of the later segment over the frames shared across a boundary."""
    n = 2 * overlap
    return ((np.arange(n, dtype=np.float32) + 0.5) / max(n, 1)).astype(np.float32)


def blend(earlier: np.ndarray, later: np.ndarray, weight: float) -> np.ndarray:
    """``earlier + weight * (later - earlier)``, rounded to uint8: exactly ``earlier`` where the two agree."""
    a = earlier.astype(np.float32)
    mixed = a + np.float32(weight) * (later.astype(np.float32) - a)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def _take(frames: Iterator[np.ndarray], segment: Segment, count: int) -> Iterator[np.ndarray]:
    for _ in range(count):
        frame = next(frames, None)
        if frame is None:
            raise RuntimeError(f"segment {segment.index} returned fewer than the {segment.read_length} frames "
                               f"[{segment.read_start}, {segment.read_stop}) it was given")
        yield frame


def _close(frames: Iterator) -> None:
    close = getattr(frames, "close", None)
    if close is not None:
        close()


def stitch(plan: Iterable[Segment], load: Callable[[Segment], Iterable[np.ndarray]]) -> Iterator[np.ndarray]:
    """Yield the output frames ``(H, W, 3) uint8`` in order, each exactly once.

    ``plan`` comes from :func:`plan_segments` (it may be a generator that waits for each segment to be
    ready); ``load(segment)`` streams that segment's ``read_length`` frames. At most two segments are
    open at a time, one frame of each held. A segment's stream is closed once it is used up.
    """
    previous: Iterator[np.ndarray] | None = None
    previous_segment: Segment | None = None
    for segment in plan:
        frames = iter(load(segment))
        own = segment.read_start
        if previous is not None:
            before, after = segment.start - segment.read_start, previous_segment.read_stop - previous_segment.stop
            if previous_segment.stop != segment.start or before != after:
                raise ValueError(f"segments {previous_segment.index} and {segment.index} are not contiguous "
                                 "with one overlap on both sides")
            shared = before + after
            weights = crossfade_weights(before)
            for weight, a, b in zip(weights, _take(previous, previous_segment, shared), _take(frames, segment, shared)):
                yield blend(a, b, float(weight))
            _close(previous)
            own += shared
        end = segment.stop - (segment.read_stop - segment.stop)  # the rest is shared with the next segment
        yield from _take(frames, segment, end - own)
        previous, previous_segment = frames, segment
    if previous is not None:  # the last segment's own frames that were held back for a next one
        yield from _take(previous, previous_segment, previous_segment.read_stop - previous_segment.stop)
        _close(previous)
