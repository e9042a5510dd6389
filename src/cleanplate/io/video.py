"""Video files and frame folders as re-iterable frame streams.

:func:`open_video` probes a source once (size, frame rate, frame count, timestamps, rotation, audio)
and returns a :class:`VideoSource`; iterating it decodes afresh and yields upright
``(H, W, 3) uint8 RGB`` frames (or ``(H, W) uint8`` grey with :meth:`VideoSource.grey`), holding one
frame at a time.

Probing reads the container header and decodes one frame (for its rotation). The frame count comes
from the header when it agrees with the stream's duration; otherwise, or when the frame rate looks
variable, the packets are demuxed (not decoded) to count them and collect their timestamps. Only a
stream whose packets carry no timestamps is decoded in full to count its frames.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..clip import VideoInfo
from ..errors import InputError
from .images import is_image, list_images, read_grey, read_rgb

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
FOLDER_FPS = 25.0  # a frame folder carries no timing
_FIX_VIDEO = "re-encode it to H.264 mp4 (or export PNG frames) and try again"


# -- orientation ---------------------------------------------------------------------------------

def orientation_from_matrix(matrix) -> str:
    """Name the transform that makes frames upright, from a 3x3 display matrix (row-major, 16.16).

    Mirrors FFmpeg's autorotate (``fftools/ffmpeg_filter.c``): one of ``none``, ``cclock``
    (rotate 90° counter-clockwise), ``clock``, ``180``, ``hflip``, ``vflip``, ``transpose``
    (cclock + vflip) and ``antitranspose`` (clock + vflip).
    """
    m = [float(v) / 65536.0 for v in matrix]
    sx, sy = np.hypot(m[0], m[3]), np.hypot(m[1], m[4])
    if sx == 0 or sy == 0:
        return "none"
    theta = -round(-np.degrees(np.arctan2(m[1] / sy, m[0] / sx)))  # FFmpeg's get_rotation()
    theta -= 360 * np.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        return "transpose" if m[3] > 0 else "clock"
    if abs(theta - 270) < 1:
        return "antitranspose" if m[3] < 0 else "cclock"
    if abs(theta - 180) < 1:
        if m[0] < 0 and m[4] < 0:
            return "180"
        return "hflip" if m[0] < 0 else "vflip" if m[4] < 0 else "none"
    if abs(theta) < 1 and m[4] < 0:
        return "vflip"
    return "none"


def orientation_from_tag(degrees: str) -> str:
    """The legacy ``rotate`` metadata tag: degrees clockwise to turn the picture for display."""
    try:
        turn = int(float(degrees)) % 360
    except ValueError:
        return "none"
    return {90: "clock", 180: "180", 270: "cclock"}.get(turn, "none")


def make_upright(image: np.ndarray, orientation: str) -> np.ndarray:
    """Apply a transform named by :func:`orientation_from_matrix` to ``(H, W[, C])``."""
    if orientation == "none":
        return image
    out = {
        "clock": lambda a: np.rot90(a, -1),
        "cclock": lambda a: np.rot90(a, 1),
        "180": lambda a: a[::-1, ::-1],
        "hflip": lambda a: a[:, ::-1],
        "vflip": lambda a: a[::-1],
        "transpose": lambda a: a.swapaxes(0, 1),
        "antitranspose": lambda a: a[::-1, ::-1].swapaxes(0, 1),
    }[orientation](image)
    return np.ascontiguousarray(out)


def swaps_axes(orientation: str) -> bool:
    return orientation in ("clock", "cclock", "transpose", "antitranspose")


# -- probing -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Probe:
    info: VideoInfo
    orientation: str = "none"


def _uniform(stamps: np.ndarray, fps: float) -> bool:
    """Whether timestamps are evenly spaced (within a quarter frame)."""
    if len(stamps) < 3:
        return True
    steps = np.diff(stamps)
    return bool(np.abs(steps - 1.0 / fps).max() < 0.25 / fps)


def _count_packets(path: Path) -> tuple[int, list[float]]:
    """Count the video packets without decoding them; their presentation times, sorted."""
    import av

    stamps: list[float] = []
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base)
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            count += 1
            if packet.pts is not None:
                stamps.append(packet.pts * tb)
    if len(stamps) != count:
        stamps = []
    return count, sorted(stamps)


def _count_decoded(path: Path) -> int:
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def probe_file(path: Path) -> _Probe:
    """What a video file holds, reading as little of it as it can (see the module docstring)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(path, "has no video stream", "give a video file (mp4, mov, mkv, avi, webm)")
            stream = container.streams.video[0]
            has_audio = bool(container.streams.audio)
            first = next(iter(container.decode(stream)), None)
            if first is None:
                raise InputError(path, "has zero frames", "check the file was not truncated, or export it again")
            matrix = first.side_data.get("DISPLAYMATRIX") if hasattr(first.side_data, "get") else None
            if matrix is not None:
                orientation = orientation_from_matrix(np.frombuffer(bytes(matrix), dtype="<i4"))
            else:
                orientation = orientation_from_tag(stream.metadata.get("rotate", "0"))
            width, height = first.width, first.height
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 0.0
            header = stream.frames or 0
            tb = float(stream.time_base) if stream.time_base else 0.0
            duration = stream.duration * tb if stream.duration and tb else (container.duration or 0) / 1e6
            base = float(stream.base_rate) if stream.base_rate else fps
    except InputError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError) as err:
        kind = getattr(err, "strerror", None) or err.__class__.__name__
        raise InputError(path, f"is not a readable video ({kind})", _FIX_VIDEO) from None

    reliable = header > 0 and fps > 0 and (duration <= 0 or abs(header - duration * fps) <= max(2, 0.02 * header))
    variable = fps > 0 and base > 0 and abs(base - fps) > 0.01 * fps
    stamps: tuple[float, ...] | None = None
    if reliable and not variable:
        count = header
    else:
        try:
            count, found = _count_packets(path)
            if not found:
                count = _count_decoded(path)
        except av.error.FFmpegError as err:
            raise InputError(path, f"is corrupt ({err.__class__.__name__})", _FIX_VIDEO) from None
        if found:
            t0 = found[0]
            rel = np.asarray(found) - t0
            if fps <= 0 and len(rel) > 1 and rel[-1] > 0:
                fps = (len(rel) - 1) / rel[-1]
            if not _uniform(rel, fps or 25.0):
                stamps = tuple(float(t) for t in rel)
                log.info("%s: variable frame rate (%d frames, %.3f fps on average)", path, count, fps)
    if count == 0:
        raise InputError(path, "has zero frames", "check the file was not truncated, or export it again")
    if fps <= 0:
        fps = FOLDER_FPS
    if swaps_axes(orientation):
        width, height = height, width
    info = VideoInfo(width, height, fps, count, stamps, str(path), has_audio)
    return _Probe(info, orientation)


# -- sources -------------------------------------------------------------------------------------

class VideoSource:
    """A video file or frame folder: ``info`` plus a fresh, upright frame stream on each iteration.

    Exactly ``info.num_frames`` frames are yielded. Should the decoder disagree with the probed
    count, the last frame is repeated (or the extra frames dropped) with a warning.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(self.path, "does not exist", "check the path")
        if self.path.is_dir():
            self._images: list[Path] | None = list_images(self.path)
            if not self._images:
                raise InputError(self.path, "is a folder with no PNG or JPEG frames",
                                 "point at a video file or a folder of frames")
            first = read_rgb(self._images[0])
            self.orientation = "none"
            self.info = VideoInfo(first.shape[1], first.shape[0], FOLDER_FPS, len(self._images), path=str(self.path))
        elif is_image(self.path):
            raise InputError(self.path, "is a single image, not a video",
                             "give a video file or a folder of frames")
        else:
            self._images = None
            probe = probe_file(self.path)
            self.info, self.orientation = probe.info, probe.orientation

    @property
    def is_folder(self) -> bool:
        return self._images is not None

    def __len__(self) -> int:
        return self.info.num_frames

    def __iter__(self) -> Iterator[np.ndarray]:
        """Frames ``(H, W, 3) uint8 RGB``, upright."""
        return self._stream(grey=False)

    def grey(self) -> Iterator[np.ndarray]:
        """Frames ``(H, W) uint8`` luma, upright (what masks are read as)."""
        return self._stream(grey=True)

    def folder_frames(self, start: int = 0, stop: int | None = None, grey: bool = False) -> Iterator[np.ndarray]:
        """Images ``[start, stop)`` of a frame folder, each checked to have the first one's size."""
        read_image = read_grey if grey else read_rgb
        for p in self._images[start:stop]:
            image = read_image(p)
            if image.shape[:2] != (self.info.height, self.info.width):
                raise InputError(p, f"is {image.shape[1]}x{image.shape[0]} but the first frame is "
                                    f"{self.info.width}x{self.info.height}",
                                 "export every frame of the folder at one size")
            yield image

    def _stream(self, grey: bool) -> Iterator[np.ndarray]:
        if self._images is not None:
            yield from self.folder_frames(grey=grey)
            return
        yield from self._exactly(self._decode("gray" if grey else "rgb24"))

    def _decode(self, pix_fmt: str) -> Iterator[np.ndarray]:
        import av

        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for frame in container.decode(stream):
                    yield make_upright(frame.to_ndarray(format=pix_fmt), self.orientation)
        except av.error.FFmpegError as err:
            raise InputError(self.path, f"is corrupt: decoding failed ({err.__class__.__name__})", _FIX_VIDEO) from None

    def _exactly(self, frames: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        total = self.info.num_frames
        count, last = 0, None
        for frame in frames:
            if count == total:
                log.warning("%s: decoded more than the %d frames its header announced; ignoring the rest",
                            self.path, total)
                return
            yield frame
            count, last = count + 1, frame
        if count < total and last is not None:
            log.warning("%s: decoded %d of the %d frames its header announced; repeating the last one",
                        self.path, count, total)
            for _ in range(total - count):
                yield last


def open_video(path: str | os.PathLike) -> VideoSource:
    """Open a video file or a frame folder (natural order), checking that it holds frames."""
    return VideoSource(path)
