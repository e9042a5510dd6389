"""Write frames to a video file or a PNG folder, atomically.

Output goes to a hidden temporary name beside the target and is moved into place only when the
writer closes without error, so an interrupted or failed run never leaves a half-written file.

Video files are H.264 (libx264, ``quality`` = CRF) tagged BT.709, at the input's exact size, frame
rate (or timestamps, for a variable frame rate) and frame count:

- even sizes are encoded ``yuv420p``, which every player shows;
- H.264 cannot represent an odd width or height in 4:2:0 (its cropping works in 2-pixel steps), so
  odd sizes are encoded ``yuv444p`` (High 4:4:4) at the exact size, with a warning that some players
  cannot show it. Nothing is padded, scaled or cropped.

The input's first audio stream is copied packet for packet (no re-encode), interleaved with the
video. If the output container cannot hold that codec, the video is written without it and a
warning says so. PNG folders are lossless: reading them back gives the frames bit for bit.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..clip import VideoInfo
from ..errors import OutputError
from .outputs import VIDEO_FORMATS, check_output, check_outputs, is_video_path

log = logging.getLogger(__name__)

PRESET = "veryfast"  # x264 speed/size trade-off; quality is set by the CRF
_VFR_TIME_BASE = Fraction(1, 90000)


def frame_rate(fps: float) -> Fraction:
    """``fps`` as the exact fraction a container stores (29.97 -> 30000/1001)."""
    return Fraction(fps).limit_denominator(1001)


class _AudioCopy:
    """Copies the audio packets of ``source`` into ``container`` as the video advances."""

    def __init__(self, container, source: str):
        import av

        self._input = av.open(source)
        src = self._input.streams.audio[0]
        try:
            self.stream = container.add_stream_from_template(src)
        except BaseException:
            self._input.close()
            raise
        video = self._input.streams.video[0] if self._input.streams.video else None
        # Audio keeps its offset from the video's first frame; the output video starts at 0.
        start = video.start_time * video.time_base if video is not None and video.start_time else 0
        self._shift = int(round(start / src.time_base)) if start else 0
        self._tb = float(src.time_base)
        self._packets = self._input.demux(src)
        self._pending = None
        self.codec = src.codec_context.name

    def _next(self):
        for packet in self._packets:
            if packet.dts is None or packet.size == 0:
                continue
            if self._shift:
                if packet.pts is not None:
                    packet.pts -= self._shift
                packet.dts -= self._shift
                end = (packet.pts if packet.pts is not None else packet.dts) + (packet.duration or 0)
                if end <= 0:
                    continue
            return packet
        return None

    def copy_until(self, container, seconds: float | None) -> None:
        """Mux the audio packets that start before ``seconds`` (all remaining if ``None``)."""
        while True:
            packet = self._pending if self._pending is not None else self._next()
            self._pending = None
            if packet is None:
                return
            if seconds is not None and packet.dts * self._tb > seconds:
                self._pending = packet
                return
            packet.stream = self.stream
            container.mux(packet)

    def close(self) -> None:
        self._input.close()


class Writer:
    """Context manager: ``write(frame)`` with ``(H, W, 3) uint8 RGB`` frames; committed on a clean exit."""

    def __init__(self, path: Path, info: VideoInfo, quality: int = 18, audio_from: str | None = None):
        self.path = path
        self.info = info
        self.quality = quality
        self.audio_from = audio_from
        self.is_video = is_video_path(path)
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{path.suffix if self.is_video else ''}")
        self.count = 0
        self._container = None
        self._stream = None
        self._audio: _AudioCopy | None = None

    # -- opening --------------------------------------------------------------------------------
    def __enter__(self) -> "Writer":
        try:
            if self.is_video:
                self._open_video(with_audio=self.audio_from is not None)
            else:
                self.tmp.mkdir()
        except BaseException:
            self._discard()
            raise
        return self

    def _open_video(self, with_audio: bool) -> None:
        import av

        self._container = av.open(str(self.tmp), "w", format=VIDEO_FORMATS[self.path.suffix.lower()])
        w, h = self.info.width, self.info.height
        stream = self._container.add_stream("libx264", rate=frame_rate(self.info.fps))
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p" if w % 2 == 0 and h % 2 == 0 else "yuv444p"
        stream.options = {"crf": str(self.quality), "preset": PRESET}
        cc = stream.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1  # BT.709, limited range
        if self.info.timestamps is not None:
            cc.time_base = _VFR_TIME_BASE
            stream.time_base = _VFR_TIME_BASE
        self._stream = stream
        if with_audio:
            try:
                self._audio = _AudioCopy(self._container, self.audio_from)
                self._container.start_encoding()
            except (av.error.FFmpegError, ValueError) as err:
                log.warning("%s: the audio of %s cannot be copied into a %s file (%s); writing video only "
                            "(.mkv holds most codecs)", self.path, self.audio_from, self.path.suffix,
                            err.__class__.__name__)
                try:
                    self._close_container()
                except av.error.FFmpegError:
                    pass
                self._open_video(with_audio=False)
                return
        else:
            self._container.start_encoding()
        if stream.pix_fmt == "yuv444p":
            log.warning("%s: %dx%d has an odd side, so it is encoded H.264 4:4:4 at its exact size; "
                        "some players cannot show that (crop or pad it to even for 4:2:0)", self.path, w, h)

    # -- writing --------------------------------------------------------------------------------
    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.info.height, self.info.width, 3) or frame.dtype != np.uint8:
            raise ValueError(f"{self.path}: expected ({self.info.height}, {self.info.width}, 3) uint8 frames, "
                             f"got {frame.shape} {frame.dtype}")
        if self.is_video:
            try:
                self._write_video(frame)
            except self._av_error() as err:
                raise OutputError(self.path, f"could not be written ({err.__class__.__name__}: {err.strerror})",
                                  "check there is free disk space") from None
        else:
            target = self.tmp / f"{self.count:06d}.png"
            if not cv2.imwrite(str(target), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
                raise OutputError(target, "could not be written", "check the disk has space")
        self.count += 1

    def _write_video(self, frame: np.ndarray) -> None:
        import av

        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf = vf.reformat(format=self._stream.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")
        if self.info.timestamps is not None:
            seconds = self.info.timestamps[min(self.count, len(self.info.timestamps) - 1)]
            vf.pts = int(round(seconds / _VFR_TIME_BASE))
            vf.time_base = _VFR_TIME_BASE
        else:
            seconds = self.count / self.info.fps
            vf.pts = self.count
            vf.time_base = 1 / frame_rate(self.info.fps)
        self._container.mux(self._stream.encode(vf))
        if self._audio is not None:
            self._audio.copy_until(self._container, seconds)

    # -- closing --------------------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            if self.is_video:
                self._container.mux(self._stream.encode(None))
                if self._audio is not None:
                    self._audio.copy_until(self._container, None)
                self._close_container()
            self._commit()
        except (OSError, self._av_error()) as err:
            self._discard()
            reason = getattr(err, "strerror", None) or err.__class__.__name__
            raise OutputError(self.path, f"could not be finished ({reason})", "check there is free disk space") from None
        except BaseException:
            self._discard()
            raise

    @staticmethod
    def _av_error() -> type:
        import av

        return av.error.FFmpegError

    def _close_container(self) -> None:
        if self._audio is not None:
            self._audio.close()
            self._audio = None
        if self._container is not None:
            container, self._container = self._container, None
            container.close()

    def _commit(self) -> None:
        if self.path.is_dir() and not self.path.is_symlink():
            old = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.old")
            os.rename(self.path, old)
            os.rename(self.tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.path)

    def _discard(self) -> None:
        try:
            self._close_container()
        except Exception:  # the file is being thrown away; its trailer does not matter
            pass
        finally:
            if self.tmp.is_dir():
                shutil.rmtree(self.tmp, ignore_errors=True)
            elif self.tmp.exists():
                self.tmp.unlink()


def open_writer(path: str | os.PathLike, info: VideoInfo, quality: int = 18, audio_from: str | None = None) -> Writer:
    """A :class:`Writer` for ``path``: ``.mp4``/``.mov``/``.mkv`` are H.264, anything else a PNG folder."""
    return Writer(Path(path), info, quality, audio_from)


__all__ = ["Writer", "open_writer", "check_output", "check_outputs", "frame_rate"]
