"""Where results may be written: the checks made before any work starts.

An output is a video file (``.mp4``, ``.mov``, ``.mkv``) or, for any name without one of those
suffixes, a folder of PNG frames. Refused, each with a one-line :class:`OutputError`: an output that
is one of the inputs (or holds one), two outputs at one path, an existing output without
``overwrite``, an existing folder that holds anything but frames (never deleted, even with
``overwrite``), a missing or unwritable parent folder, and a format that cannot be written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from ..errors import OutputError
from .images import IMAGE_SUFFIXES, is_image

VIDEO_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}  # suffix -> muxer
_UNWRITABLE = {".avi", ".webm", ".m4v", ".gif"} | IMAGE_SUFFIXES
_FIX_FORMAT = "write .mp4, .mov or .mkv, or give a folder name for PNG frames"


def is_video_path(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a video file output (else a PNG frame folder)."""
    return Path(path).suffix.lower() in VIDEO_FORMATS


def _same(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(child: Path, folder: Path) -> bool:
    try:
        child.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _writable(folder: Path) -> bool:
    """Try it: permission bits lie for root, read-only mounts and immutable folders."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def check_output(path: str | os.PathLike, inputs: Iterable = (), overwrite: bool = False) -> Path:
    """Refuse an output that would clobber an input or an existing file, or that cannot be written.

    ``inputs`` are the paths being read (arrays and ``None`` are skipped).
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix in _UNWRITABLE:
        raise OutputError(out, f"cannot write {suffix} files", _FIX_FORMAT)
    for given in inputs:
        if given is None or not isinstance(given, (str, os.PathLike)):
            continue
        source = Path(given)
        if _same(out, source):
            raise OutputError(out, "is the same path as an input", "choose another output path")
        if out.is_dir() and _inside(source, out):
            raise OutputError(out, f"holds the input {source}", "choose another output path")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise OutputError(out, "already exists", "pass --overwrite to replace it, or choose another path")
        if is_video_path(out) and out.is_dir():
            raise OutputError(out, "is a folder, not a video file", "choose another output path")
        if not is_video_path(out):
            if not out.is_dir():
                raise OutputError(out, "is a file, but a name without .mp4/.mov/.mkv means a PNG frame folder",
                                  _FIX_FORMAT)
            strays = [p.name for p in out.iterdir() if not (p.is_file() and is_image(p))]
            if strays:
                raise OutputError(out, f"holds {strays[0]!r}, which is not a frame; refusing to replace the folder",
                                  "choose another output path, or empty the folder")
    parent = out.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(out, f"{parent} is a file, not a folder", "choose another output path")
    if not parent.is_dir():
        raise OutputError(out, f"folder {parent} does not exist", "create it first, or choose another path")
    if not _writable(parent):
        raise OutputError(out, f"folder {parent} is not writable", "choose a writable location")
    return out


def check_outputs(outputs: Iterable, inputs: Iterable = (), overwrite: bool = False) -> list[Path]:
    """:func:`check_output` each output given (``None`` skipped), and refuse two at one path."""
    inputs = list(inputs)
    checked: list[Path] = []
    for path in outputs:
        if path is None:
            continue
        out = check_output(path, inputs, overwrite)
        for earlier in checked:
            if _same(out, earlier):
                raise OutputError(out, "is given for two outputs", "give each output its own path")
        checked.append(out)
    return checked
