"""Write frames to an mp4 or a PNG folder, atomically.

Output goes to a temporary name beside the target and is renamed into place only when the writer
closes without error, so an interrupted run never leaves a half-written file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import av
import cv2
import numpy as np

from ..clip import VideoInfo
from ..errors import OutputError

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv"}


def check_output(path: str | os.PathLike, inputs: tuple = (), overwrite: bool = False) -> Path:
    """Refuse outputs that would clobber an input or an existing file, or that cannot be written."""
    out = Path(path)
    for given in inputs:
        if given is not None and isinstance(given, (str, os.PathLike)) and Path(given).resolve() == out.resolve():
            raise OutputError(out, "is the same path as an input", "choose another output path")
    if out.exists() and not overwrite:
        raise OutputError(out, "already exists", "pass --overwrite to replace it, or choose another path")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputError(out, f"folder {parent} does not exist", "create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(out, f"folder {parent} is not writable", "choose a writable location")
    return out


class Writer:
    """Context manager: ``write(frame)`` RGB uint8 frames; committed on a clean exit."""

    def __init__(self, path: Path, info: VideoInfo, quality: int = 18, audio_from: str | None = None):
        self.path = path
        self.info = info
        self.quality = quality
        self.audio_from = audio_from
        self.tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
        self.is_video = path.suffix.lower() in VIDEO_SUFFIXES
        self._container = None
        self._stream = None
        self.count = 0

    def __enter__(self) -> "Writer":
        if self.is_video:
            self._container = av.open(str(self.tmp), "w", format="mp4")
            fps = self.info.fps
            from fractions import Fraction
            rate = Fraction(fps).limit_denominator(1001)
            self._stream = self._container.add_stream("libx264", rate=rate)
            self._stream.width = self.info.width + self.info.width % 2
            self._stream.height = self.info.height + self.info.height % 2
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(self.quality), "preset": "veryfast"}
        else:
            self.tmp.mkdir(parents=True)
        return self

    def write(self, frame: np.ndarray) -> None:
        if self.is_video:
            if frame.shape[0] % 2 or frame.shape[1] % 2:
                frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in self._stream.encode(vf):
                self._container.mux(packet)
        else:
            cv2.imwrite(str(self.tmp / f"{self.count:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if self.is_video:
                if exc_type is None:
                    for packet in self._stream.encode():
                        self._container.mux(packet)
                self._container.close()
        finally:
            if exc_type is None:
                if self.path.is_dir():
                    shutil.rmtree(self.path)
                os.replace(self.tmp, self.path)
            elif self.tmp.is_dir():
                shutil.rmtree(self.tmp, ignore_errors=True)
            elif self.tmp.exists():
                self.tmp.unlink()


def open_writer(path: str | os.PathLike, info: VideoInfo, quality: int = 18, audio_from: str | None = None) -> Writer:
    """A :class:`Writer` for ``path``: mp4/mov/mkv are H.264 yuv420p, anything else a PNG folder."""
    return Writer(Path(path), info, quality, audio_from)
