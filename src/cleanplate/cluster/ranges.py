"""A :class:`~cleanplate.clip.Clip` of frames ``[start, stop)`` of a video, decoding little else.

A frame folder is read from its ``start``-th image. A video file is seeked: PyAV jumps to the last
keyframe at or before frame ``start``'s timestamp and decodes forward from there, so a task that
handles the end of a long video does not decode its beginning. The frames are the very frames a
full, sequential decode gives (decoding from a keyframe is exact); should the timestamps not allow
that to be established — no timestamps, or the seek landing past the wanted frame — the file is
decoded from its start and the frames before ``start`` skipped.

The mask is read the same way when it has one frame per video frame (or is one image). The driver
has already checked it and decided how to read it (binary or quadmask, inverted or not), so a task
does not scan it again. A mask aligned by timestamp (another frame rate) is read through
:func:`cleanplate.io.open_mask` from its start and sliced.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import os
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..clip import Clip, VideoInfo
from ..errors import InputError
from ..io import open_mask, open_video
from ..io.align import alignment
from ..io.images import is_image, read_grey
from ..io.masks import level_table
from ..io.video import VideoSource, make_upright

log = logging.getLogger(__name__)

_SEEK_BACK = (1.0, 4.0, 16.0, 64.0)  # seconds further back to seek when a seek lands past the wanted frame


def frame_index_at(info: VideoInfo, seconds: float) -> int:
    """The index of the frame shown ``seconds`` after the first one (nearest)."""
    if info.timestamps is not None:
        stamps = info.timestamps
        i = bisect.bisect_left(stamps, seconds)
        if i == len(stamps) or (i > 0 and seconds - stamps[i - 1] <= stamps[i] - seconds):
            i -= 1
        return i
    return int(round(seconds * info.fps))


def frame_time(info: VideoInfo, index: int) -> float:
    """Seconds from the first frame to frame ``index``."""
    if info.timestamps is not None:
        return info.timestamps[index]
    return index / info.fps


def _seek_decode(source: VideoSource, start: int, pix_fmt: str = "rgb24") -> Iterator[np.ndarray] | None:
    """Frames from ``start`` on, decoded from a keyframe before it; ``None`` if that cannot be done exactly."""
    import av

    info = source.info
    container = av.open(str(source.path))
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.start_time is None or not stream.time_base:
            container.close()
            return None
        tb, t0 = stream.time_base, stream.start_time
        # A demuxer may seek by decoding time, which runs ahead of presentation time where frames are
        # reordered (B-frames): if the keyframe found lies past ``start``, look further back.
        first, index = None, start + 1
        for back in (0.5 / info.fps, *_SEEK_BACK):
            target = frame_time(info, start) - back
            if target <= 0:  # as good as decoding from the start
                break
            container.seek(t0 + int(target / tb), stream=stream, backward=True)
            decoded = container.decode(stream)
            # Frames before the first keyframe may depend on frames the seek skipped (an open GOP).
            first = next((f for f in decoded if f.key_frame), None)
            if first is None or first.pts is None:
                break
            index = frame_index_at(info, float((first.pts - t0) * tb))
            if index <= start:
                break
        if first is None or first.pts is None or index > start:
            container.close()
            return None
    except av.error.FFmpegError:
        container.close()
        return None

    def frames() -> Iterator[np.ndarray]:
        try:
            for i, frame in enumerate(itertools.chain([first], decoded), index):
                if i >= start:
                    yield make_upright(frame.to_ndarray(format=pix_fmt), source.orientation)
        except av.error.FFmpegError as err:
            raise InputError(source.path, f"is corrupt: decoding failed ({err.__class__.__name__})",
                             "re-encode it to H.264 mp4 (or export PNG frames) and try again") from None
        finally:
            container.close()

    return frames()


def _exactly(frames: Iterator[np.ndarray], count: int, path) -> Iterator[np.ndarray]:
    """``count`` frames: the last one repeated if the stream ends early (as a full decode does)."""
    last = None
    for last in itertools.islice(frames, count):
        yield last
        count -= 1
    if count and last is not None:
        log.warning("%s: decoded fewer frames than its header announced; repeating the last one", path)
        for _ in range(count):
            yield last
    close = getattr(frames, "close", None)
    if close is not None:
        close()


def read_frames(source: VideoSource, start: int, stop: int, grey: bool = False) -> Iterator[np.ndarray]:
    """Frames ``[start, stop)`` of ``source``, equal to ``list(source)[start:stop]``.

    ``(H, W, 3) uint8 RGB``, or with ``grey`` ``(H, W) uint8`` as :meth:`VideoSource.grey` gives them.
    """
    if not 0 <= start <= stop <= len(source):
        raise ValueError(f"frames [{start}, {stop}) are outside the {len(source)} frames of {source.path}")
    if source.is_folder:
        yield from source.folder_frames(start, stop, grey)
        return
    frames = _seek_decode(source, start, "gray" if grey else "rgb24") if start > 0 else None
    if frames is None:
        frames = itertools.islice(source.grey() if grey else iter(source), start, None)
    yield from _exactly(frames, stop - start, source.path)


def _mask_range(mask: str | os.PathLike, video: VideoInfo, start: int, stop: int, invert_mask: bool,
                mask_kind: str) -> Callable[[], Iterator[np.ndarray]]:
    """A fresh stream of the quadmasks ``(H, W) uint8`` of video frames ``[start, stop)``."""
    if mask_kind == "auto":  # the driver decides once; a caller that did not is served by open_mask
        masks = open_mask(mask, video, invert_mask, mask_kind)
        return lambda: itertools.islice(iter(masks), start, stop)
    table = level_table(mask_kind, invert_mask and mask_kind != "quadmask")

    def to_quadmask(grey: np.ndarray) -> np.ndarray:  # as MaskSource.to_quadmask
        q = cv2.LUT(np.ascontiguousarray(grey), table)
        if q.shape != (video.height, video.width):
            q = cv2.resize(q, (video.width, video.height), interpolation=cv2.INTER_NEAREST_EXACT)
        return q

    path = Path(mask)
    if path.is_file() and is_image(path):
        still = to_quadmask(read_grey(path))
        return lambda: itertools.repeat(still, stop - start)
    source = VideoSource(path)
    timed = not source.is_folder and video.path is not None and not Path(video.path).is_dir()
    mode = alignment(source.info, video, timed)
    if mode == "frames":
        return lambda: (to_quadmask(g) for g in read_frames(source, start, stop, grey=True))
    if mode == "static":
        still = to_quadmask(next(iter(read_frames(source, 0, 1, grey=True))))
        return lambda: itertools.repeat(still, stop - start)
    masks = open_mask(mask, video, invert_mask, mask_kind)
    return lambda: itertools.islice(iter(masks), start, stop)


def open_range_clip(video: str | os.PathLike, mask: str | os.PathLike, start: int, stop: int,
                    invert_mask: bool = False, mask_kind: str = "auto") -> Clip:
    """Frames and quadmasks ``[start, stop)`` of ``video`` and ``mask`` as a :class:`Clip` of ``stop - start`` frames.

    ``mask_kind`` is ``"binary"`` or ``"quadmask"`` as the driver's :func:`~cleanplate.io.open_mask`
    decided (``"auto"`` checks and recognises the mask again, reading all of it). The clip's ``info``
    keeps the video's size and frame rate, its timestamps sliced, and no audio.
    """
    source = open_video(video)
    info = source.info
    masks = _mask_range(mask, info, start, stop, invert_mask, mask_kind)
    stamps = None
    if info.timestamps is not None:
        stamps = tuple(t - info.timestamps[start] for t in info.timestamps[start:stop])
    part = info.with_(num_frames=stop - start, timestamps=stamps, has_audio=False)
    return Clip(part, lambda: read_frames(source, start, stop), masks)
