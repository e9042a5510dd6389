"""Masks from files: binary or quadmask, checked in one pass, aligned to the video.

A mask is a video, a frame folder or one image (a static mask for every frame), read as grey.
Two conventions are understood:

- **binary**: white = remove (``--invert-mask``: black = remove), thresholded at 128, so the ringing
  and soft edges of a lossy encode fall on the right side;
- **quadmask** (VOID, Netflix 2025): 0 remove, 63 overlap, 127 affected, 255 keep; every value is
  snapped to the nearest level (:func:`cleanplate.quadmask.snap_levels`).

The kind is recognised from the grey levels of the mask's flat regions (:func:`looks_like_quadmask`)
unless the caller names it. Before any work is done, :class:`MaskSource` reads the mask once — masks are
small to decode — to refuse one that selects nothing, or every pixel of every frame.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from .. import quadmask
from ..clip import VideoInfo
from ..errors import InputError
from ..progress import ProgressFn, report
from .align import aligned, alignment
from .images import is_image, read_grey
from .video import VideoSource

log = logging.getLogger(__name__)

MASK_KINDS = ("auto", "binary", "quadmask")

# Quadmask recognition. Only *plateau* pixels count: pixels whose 3x3 neighbourhood spans at most
# _FLAT grey levels. A quadmask's OVERLAP/AFFECTED regions are plateaus at 63/127; a binary mask's
# soft or lossy edges are ramps, steep at every pixel, so they drop out. Among plateau pixels, those
# within +-_BAND of 63 or 127 are weighed against those in equally wide bands centred where no level
# lies (95, 191). Measured on the sample clips' masks as they are, blurred (sigma 2 and 3),
# JPEG-compressed (q20) and 8x down-up-scaled: binary masks put at most 0.05% of their pixels on
# 63/127 plateaus, quadmasks at least 2%, with level/gap ratios of 79 or more.
_FLAT = 12
_BAND = 12
_LEVEL_SHARE = 1e-3  # plateau pixels at 63/127: at least this share of all mask pixels...
_LEVEL_RATIO = 4.0  # ... and this many times the plateau pixels between levels.
# A mask that is mostly white is either a quadmask (mostly KEEP) or a binary mask drawn black on
# white, and both are read right as a quadmask (0 = remove): there, weaker evidence is enough.
_LEVEL_SHARE_MOSTLY_WHITE = 1e-4
_OFF_LEVEL = 24  # a quadmask pixel further than this from every level is "unexpected"
_SAMPLED_FRAMES = 100  # recognition looks at about this many frames, evenly spread
_KERNEL = np.ones((3, 3), np.uint8)


def _band(hist: np.ndarray, centre: int) -> int:
    return int(hist[max(centre - _BAND, 0):centre + _BAND + 1].sum())


def plateau_histogram(grey: np.ndarray) -> np.ndarray:
    """256 counts of the pixels of ``grey`` ``(H, W) uint8`` that lie on a flat plateau."""
    spread = cv2.subtract(cv2.dilate(grey, _KERNEL), cv2.erode(grey, _KERNEL))
    return np.bincount(grey[spread <= _FLAT], minlength=256)


def quadmask_evidence(plateaus: np.ndarray, pixels: int, white_share: float = 0.0) -> bool:
    """Whether plateau counts (:func:`plateau_histogram`, summed over ``pixels`` pixels) are a quadmask's.

    ``white_share`` is the share of all mask pixels >= 128; above one half, weaker evidence suffices.
    """
    levels = _band(plateaus, quadmask.OVERLAP) + _band(plateaus, quadmask.AFFECTED)
    gaps = _band(plateaus, 95) + _band(plateaus, 191)
    share = _LEVEL_SHARE_MOSTLY_WHITE if white_share > 0.5 else _LEVEL_SHARE
    return pixels > 0 and levels >= share * pixels and levels >= _LEVEL_RATIO * gaps


def looks_like_quadmask(frames: Iterable[np.ndarray]) -> bool:
    """Whether grey mask frames ``(H, W) uint8`` hold a quadmask rather than a binary mask."""
    plateaus, pixels, white = np.zeros(256, np.int64), 0, 0
    for grey in frames:
        grey = np.ascontiguousarray(grey, np.uint8)
        plateaus += plateau_histogram(grey)
        pixels += grey.size
        white += int((grey >= 128).sum())
    return quadmask_evidence(plateaus, pixels, white / max(pixels, 1))


def level_table(kind: str, invert: bool = False) -> np.ndarray:
    """Lookup table ``(256,) uint8``: grey value -> quadmask level for a mask of this kind."""
    grey = np.arange(256)
    if kind == "quadmask":
        return quadmask.snap_levels(grey.astype(np.uint8))
    remove = grey < 128 if invert else grey >= 128
    return quadmask.from_binary(remove)


_READINGS = {"white": ("binary", False), "black": ("binary", True), "quad": ("quadmask", False)}


@dataclass
class MaskStats:
    """What one pass over a mask learned: its histogram, and for each reading how much it selects."""

    frames: int = 0
    pixels: int = 0  # per frame
    hist: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64))
    plateaus: np.ndarray = field(default_factory=lambda: np.zeros(256, np.int64))  # sampled frames
    plateau_pixels: int = 0
    empty: dict = field(default_factory=lambda: dict.fromkeys(_READINGS, 0))  # frames selecting nothing
    full: dict = field(default_factory=lambda: dict.fromkeys(_READINGS, 0))  # frames selecting everything
    selected: dict = field(default_factory=lambda: dict.fromkeys(_READINGS, 0))  # pixels, all frames


def scan(frames: Iterable[np.ndarray], total: int | None = None, progress: ProgressFn | None = None) -> MaskStats:
    """One pass over grey mask frames ``(H, W) uint8``, keeping a few counters (memory is constant)."""
    stats = MaskStats()
    holes = {name: quadmask.hole(level_table(*reading)) for name, reading in _READINGS.items()}
    stride = max(1, -(-(total or 0) // _SAMPLED_FRAMES))  # at most _SAMPLED_FRAMES frames
    for grey in frames:
        if stats.frames % stride == 0:
            stats.plateaus += plateau_histogram(grey)
            stats.plateau_pixels += grey.size
        hist = np.bincount(grey.ravel(), minlength=256)
        stats.hist += hist
        stats.frames += 1
        stats.pixels = grey.size
        for name, hole in holes.items():
            n = int(hist[hole].sum())
            stats.selected[name] += n
            stats.empty[name] += n == 0
            stats.full[name] += n == grey.size
        report(progress, "check mask", stats.frames, total)
    return stats


def _describe(reading: str) -> tuple[str, str, str]:
    """(what counts as selected, fix for an empty mask, fix for a full mask) for a reading."""
    if reading == "quad":
        return ("no pixel is marked 0, 63 or 127 (all is keep)", "mark the object 0 (remove) and what it caused 127 (affected)",
                "keep (255) the parts of the picture that must not change")
    if reading == "black":
        return ("no pixel is black (--invert-mask: black = remove)", "drop --invert-mask if the object is white",
                "paint only the object black, or drop --invert-mask if the object is white")
    return ("no pixel is white (white = remove)", "paint the object white on black, or pass --invert-mask if it is black",
            "paint only the object white on black, or pass --invert-mask if it is black on white")


class MaskSource:
    """A mask file aligned to a video: iterating yields one quadmask ``(H, W) uint8`` per video frame.

    ``kind`` is ``"auto"`` (recognise binary or quadmask), ``"binary"`` or ``"quadmask"``. The mask is
    read once on construction (:func:`scan`) and afresh on each iteration.
    """

    def __init__(self, path: str | os.PathLike, video: VideoInfo, invert: bool = False, kind: str = "auto",
                 progress: ProgressFn | None = None):
        if kind not in MASK_KINDS:
            raise InputError("--mask-kind", f"unknown value {kind!r}", f"use one of: {', '.join(MASK_KINDS)}")
        self.path = Path(path)
        self.video = video
        if not self.path.exists():
            raise InputError(self.path, "does not exist", "check the mask path")
        if self.path.is_file() and is_image(self.path):
            self._image: np.ndarray | None = read_grey(self.path)
            self._source = None
            h, w = self._image.shape
            self.info = VideoInfo(w, h, video.fps, 1, path=str(self.path))
        else:
            self._image = None
            self._source = VideoSource(self.path)
            self.info = self._source.info
        timed = self._source is not None and not self._source.is_folder and not _is_folder(video)
        self.mode = alignment(self.info, video, timed)

        stats = scan(self._grey(), self.info.num_frames, progress)
        self.kind = self._decide_kind(kind, stats)
        if self.kind == "quadmask" and invert:
            log.warning("%s: --invert-mask ignored: a quadmask is black (0) where the object is", self.path)
            invert = False
        self.invert = invert
        self._check(stats, "quad" if self.kind == "quadmask" else "black" if invert else "white")
        self._table = level_table(self.kind, invert)
        self._warn_size_and_timing()

    # -- checks, once ---------------------------------------------------------------------------
    def _decide_kind(self, kind: str, stats: MaskStats) -> str:
        if kind != "auto":
            return kind
        white = stats.selected["white"] / max(stats.frames * stats.pixels, 1)
        found = "quadmask" if quadmask_evidence(stats.plateaus, stats.plateau_pixels, white) else "binary"
        log.info("%s: read as a %s", self.path, "quadmask" if found == "quadmask" else "binary mask")
        return found

    def _check(self, stats: MaskStats, reading: str) -> None:
        nothing, fix_empty, fix_full = _describe(reading)
        if stats.empty[reading] == stats.frames:
            raise InputError(self.path, f"nothing was selected: {nothing} in any frame", fix_empty)
        if stats.full[reading] == stats.frames:
            raise InputError(self.path, "selects every pixel of every frame, so there is nothing to fill the hole from",
                             fix_full)
        if stats.full[reading]:
            log.warning("%s: %d of %d mask frames select the whole picture; they can only be filled from other frames",
                        self.path, stats.full[reading], stats.frames)
        share = stats.selected[reading] / max(stats.frames * stats.pixels, 1)
        if reading != "quad" and share > 0.5:
            log.warning("%s: the mask selects %.0f%% of the picture; %s", self.path, 100 * share,
                        "if the object is black in it, pass --invert-mask (or --mask-kind quadmask)"
                        if reading == "white"
                        else "if the object is white in it, drop --invert-mask")
        if reading == "quad":
            grey = np.arange(256)
            off = np.abs(grey[:, None] - quadmask.LEVELS[None, :].astype(int)).min(axis=1) > _OFF_LEVEL
            count = int(stats.hist[off].sum())
            if count:
                log.warning("%s: %d quadmask pixels (%.3f%%) lie between the levels 0/63/127/255; "
                            "snapped to the nearest level", self.path, count,
                            100 * count / max(stats.frames * stats.pixels, 1))

    def _warn_size_and_timing(self) -> None:
        (w, h), (vw, vh) = (self.info.width, self.info.height), (self.video.width, self.video.height)
        if (w, h) != (vw, vh):
            odd = " (another aspect ratio: check it belongs to this video)" if abs(w * vh - h * vw) > max(w, h) * 2 else ""
            log.warning("%s: mask is %dx%d but the video is %dx%d; resizing it (nearest neighbour)%s",
                        self.path, w, h, vw, vh, odd)
        if self.mode == "time":
            log.warning("%s: mask has %d frames at %g fps, the video %d at %g fps; "
                        "each video frame takes the mask frame nearest in time", self.path,
                        self.info.num_frames, self.info.fps, self.video.num_frames, self.video.fps)
        elif self.mode == "static" and self._source is not None:
            log.info("%s: one mask frame, used for every video frame", self.path)

    # -- streaming ------------------------------------------------------------------------------
    def _grey(self) -> Iterator[np.ndarray]:
        if self._image is not None:
            return iter([self._image])
        return self._source.grey()

    def to_quadmask(self, grey: np.ndarray) -> np.ndarray:
        """One grey mask frame (any size) -> quadmask ``(H, W) uint8`` at the video's size."""
        q = cv2.LUT(np.ascontiguousarray(grey), self._table)
        if q.shape != (self.video.height, self.video.width):
            q = cv2.resize(q, (self.video.width, self.video.height), interpolation=cv2.INTER_NEAREST_EXACT)
        return q

    def __iter__(self) -> Iterator[np.ndarray]:
        for q in aligned(self.mode, self.video, self.info, (self.to_quadmask(g) for g in self._grey())):
            q.flags.writeable = False  # a static mask is one array shared by every frame
            yield q


def _is_folder(info: VideoInfo) -> bool:
    return info.path is None or Path(info.path).is_dir()


def open_mask(path: str | os.PathLike, video: VideoInfo, invert: bool = False, kind: str = "auto",
              progress: ProgressFn | None = None) -> MaskSource:
    """Open a mask video, folder or image for ``video``, check it, and align it (see :class:`MaskSource`)."""
    return MaskSource(path, video, invert, kind, progress)
