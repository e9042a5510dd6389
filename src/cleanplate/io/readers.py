"""Open videos and masks as aligned streams.

First version: video files through PyAV, frame folders, masks from a video, a folder or one image.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from .. import quadmask
from ..clip import Clip, VideoInfo
from ..errors import InputError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def natural_key(path: Path) -> list:
    """Sort key that puts frame2.png before frame10.png."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", path.name)]


def list_images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES), key=natural_key)


def read_image(path: Path, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    data = cv2.imread(str(path), flags)
    if data is None:
        raise InputError(path, "cannot be read as an image", "check the file is a PNG or JPEG that is not corrupt")
    return data


def to_rgb8(image: np.ndarray) -> np.ndarray:
    """Any OpenCV image (grey, BGR, BGRA, 16-bit) -> ``(H, W, 3) uint8 RGB``."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class VideoSource:
    """A video file or frame folder: ``info`` plus a fresh frame stream on each iteration."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(self.path, "does not exist", "check the path")
        if self.path.is_dir():
            self._images = list_images(self.path)
            if not self._images:
                raise InputError(self.path, "folder holds no PNG or JPEG frames", "point at a video file or a folder of frames")
            first = to_rgb8(read_image(self._images[0]))
            self.info = VideoInfo(first.shape[1], first.shape[0], 25.0, len(self._images), path=str(self.path))
        else:
            self._images = None
            self.info = self._probe()

    def _probe(self) -> VideoInfo:
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise InputError(self.path, "has no video stream", "give a video file (mp4, mov, mkv, avi, webm)")
                stream = container.streams.video[0]
                fps = float(stream.average_rate or stream.guessed_rate or 25)
                has_audio = bool(container.streams.audio)
                count = 0
                stamps = []
                for frame in container.decode(stream):
                    count += 1
                    stamps.append(float(frame.time) if frame.time is not None else (count - 1) / fps)
                width, height = stream.codec_context.width, stream.codec_context.height
        except InputError:
            raise
        except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as err:
            raise InputError(self.path, f"is not a readable video ({err.__class__.__name__})",
                             "re-encode it to H.264 mp4 and try again") from None
        if count == 0:
            raise InputError(self.path, "has zero frames", "check the file was not truncated")
        return VideoInfo(width, height, fps, count, tuple(stamps), str(self.path), has_audio)

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._images is not None:
            for p in self._images:
                yield to_rgb8(read_image(p))
            return
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")


def open_video(path: str | os.PathLike) -> VideoSource:
    """Open a video file or frame folder, checking that it has frames."""
    return VideoSource(path)


class MaskSource:
    """Masks aligned to a video: yields one quadmask ``(H, W) uint8`` per video frame."""

    def __init__(self, path: str | os.PathLike, video: VideoInfo, invert: bool = False):
        self.path = Path(path)
        self.video = video
        self.invert = invert
        if not self.path.exists():
            raise InputError(self.path, "does not exist", "check the mask path")
        self._static = self.path.is_file() and self.path.suffix.lower() in IMAGE_SUFFIXES
        self._source = None if self._static else VideoSource(self.path)
        if self._source is not None and self._source.info.num_frames != video.num_frames:
            raise InputError(self.path, f"has {self._source.info.num_frames} frames but the video has {video.num_frames}",
                             "give a mask with one frame per video frame, or a single image for a static mask")

    def _to_quadmask(self, rgb: np.ndarray) -> np.ndarray:
        grey = rgb[..., 0] if rgb.ndim == 3 else rgb
        if self.invert:
            grey = 255 - grey
        h, w = self.video.height, self.video.width
        if grey.shape != (h, w):
            grey = cv2.resize(grey, (w, h), interpolation=cv2.INTER_NEAREST)
        # Binary masks: white = remove.
        return quadmask.from_binary(grey > 127)

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._static:
            q = self._to_quadmask(to_rgb8(read_image(self.path)))
            for _ in range(self.video.num_frames):
                yield q
            return
        for rgb in self._source:
            yield self._to_quadmask(rgb)


def open_mask(path: str | os.PathLike, video: VideoInfo, invert: bool = False) -> MaskSource:
    return MaskSource(path, video, invert)


def open_clip(video: str | os.PathLike, mask: str | os.PathLike, invert_mask: bool = False) -> Clip:
    """Open ``video`` and ``mask`` as an aligned :class:`Clip`, checking both."""
    source = open_video(video)
    masks = open_mask(mask, source.info, invert_mask)
    return Clip(source.info, source.__iter__, masks.__iter__)
