"""Paired clips for the benchmark, from disk or generated on the fly.

Every source yields :class:`ClipSource` objects; ``source.load()`` reads one clip into a
:class:`PairedClip` (the benchmark holds one clip at a time). Layouts understood by
:func:`open_dataset`:

**cleanplate synth** (what ``cleanplate synth`` writes): one folder per clip with ``meta.json``,
``input/``, ``gt/``, ``mask/`` and ``side/`` PNG folders.

**ROSE-Bench style** (paired videos in parallel folders, as in the ROSE dataset's
``<Env>_Unedited`` / ``<Env>_Masked`` / ``<Env>_Edited``)::

    ROOT/[<category>/]<prefix>{Unedited,Original,input,video,videos}/<clip>.mp4   (or <clip>/ frames)
    ROOT/[<category>/]<prefix>{Masked,mask,masks}/<clip>.mp4                    white = object
    ROOT/[<category>/]<prefix>{Edited,gt,GT}/<clip>.mp4                         the clean plate

Clips are matched by name across the three folders. The category is the group folder's name
(``Light_source`` -> ``light_source``). No side-effect mask ships with these: it is estimated as the
pixels outside the object where input and ground truth differ clearly (see
:func:`estimate_side_mask`).

**DAVIS style**: ``ROOT/JPEGImages[/480p]/<seq>/*.jpg`` with ``ROOT/Annotations[/480p]/<seq>/*.png``
(any non-black annotation pixel is the object). There is no ground truth: only the keep region
(outside the object) is scored against the input, and Ewarp uses flow from the output itself.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..errors import InputError
from .synth import SIDE_THRESHOLD, dataset_specs, render_frames
from .synth.generate import CATEGORIES

INPUT_NAMES = ("unedited", "original", "input", "video", "videos")
MASK_NAMES = ("masked", "mask", "masks")
GT_NAMES = ("edited", "gt")
_VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


@dataclass
class PairedClip:
    """One clip in memory: frames ``(T, H, W, 3) uint8``, masks ``(T, H, W) bool``.

    ``gt`` is None when the dataset has no ground truth; ``side`` is None when unknown.
    """

    name: str
    category: str
    input: np.ndarray
    gt: np.ndarray | None
    object: np.ndarray
    side: np.ndarray | None
    fps: float = 25.0
    meta: dict = field(default_factory=dict)

    def quadmask(self) -> np.ndarray:
        """0 object, 127 side effect (if known), 255 keep: the oracle mask."""
        from .synth import make_quadmask

        side = self.side if self.side is not None else np.zeros_like(self.object)
        return make_quadmask(self.object, side)


@dataclass
class ClipSource:
    """A clip not read yet: ``load()`` reads it."""

    name: str
    category: str
    load: Callable[[], PairedClip]


# -- readers ------------------------------------------------------------------------------------
def read_frames(path: Path) -> tuple[np.ndarray, float]:
    """All frames of a video file or frame folder as ``(T, H, W, 3) uint8``, and its fps."""
    from ..io import open_video

    source = open_video(path)
    frames = np.stack(list(source))
    return frames, source.info.fps


def read_mask(path: Path, like: np.ndarray) -> np.ndarray:
    """A binary mask video/folder (white = object) as ``(T, H, W) bool`` matching ``like`` frames."""
    frames, _ = read_frames(path)
    if len(frames) != len(like):
        raise InputError(path, f"has {len(frames)} frames but the video has {len(like)}", "give one mask per frame")
    masks = frames.max(axis=-1) > 127
    h, w = like.shape[1:3]
    if masks.shape[1:] != (h, w):
        masks = np.stack([cv2.resize(m.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in masks])
    return masks


def estimate_side_mask(frames: np.ndarray, gt: np.ndarray, obj: np.ndarray, threshold: int = 2 * SIDE_THRESHOLD) -> np.ndarray:
    """Side effect of a real pair: outside the object, where ``|input - gt|`` (max over channels)
    exceeds ``threshold``, cleaned by a 3x3 opening (isolated compression noise is not a side effect)."""
    out = np.zeros(obj.shape, bool)
    kernel = np.ones((3, 3), np.uint8)
    for t in range(len(frames)):
        diff = np.abs(frames[t].astype(np.int16) - gt[t].astype(np.int16)).max(-1)
        changed = (diff > threshold).astype(np.uint8)
        out[t] = cv2.morphologyEx(changed, cv2.MORPH_OPEN, kernel).astype(bool) & ~obj[t]
    return out


def _check_pair(name: str, frames: np.ndarray, gt: np.ndarray) -> None:
    if gt.shape != frames.shape:
        raise InputError(name, f"input is {frames.shape} but its ground truth is {gt.shape}",
                         "input and ground truth must have the same frame count and size")


# -- layouts ------------------------------------------------------------------------------------
def synth_sources(clips: int, seed: int = 0, size: tuple[int, int] = (320, 192), frames: int = 24,
                  categories: tuple[str, ...] = CATEGORIES) -> list[ClipSource]:
    """Synthetic clips generated on demand (nothing on disk), as in ``cleanplate synth``."""
    out = []
    for name, spec in dataset_specs(clips, seed, size, frames, categories):
        def load(name=name, spec=spec) -> PairedClip:
            rendered = list(render_frames(spec))
            stack = lambda key: np.stack([getattr(f, key) for f in rendered])
            return PairedClip(name, spec.category, stack("input"), stack("gt"), stack("object"), stack("side"),
                              spec.fps, spec.meta())
        out.append(ClipSource(name, spec.category, load))
    return out


def _synth_folder(folder: Path) -> ClipSource:
    meta = json.loads((folder / "meta.json").read_text())

    def load() -> PairedClip:
        frames, _ = read_frames(folder / "input")
        gt, _ = read_frames(folder / "gt")
        _check_pair(folder.name, frames, gt)
        return PairedClip(folder.name, meta.get("category", "synth"), frames, gt, read_mask(folder / "mask", frames),
                          read_mask(folder / "side", frames), float(meta.get("fps", 25.0)), meta)

    return ClipSource(folder.name, meta.get("category", "synth"), load)


def _category_name(text: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return key or "clips"


def _role(folder: Path) -> str | None:
    name = folder.name.lower()
    for role, names in (("input", INPUT_NAMES), ("mask", MASK_NAMES), ("gt", GT_NAMES)):
        if any(name == n or name.endswith("_" + n) or name.endswith("-" + n) for n in names):
            return role
    return None


def _items(folder: Path) -> dict[str, Path]:
    """Clip name -> video file or frame folder inside ``folder``."""
    items = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_dir() or p.suffix.lower() in _VIDEO_SUFFIXES:
            items[p.stem if p.is_file() else p.name] = p
    return items


def _rose_group(group: Path, category: str) -> list[ClipSource]:
    roles: dict[str, Path] = {}
    for sub in sorted(p for p in group.iterdir() if p.is_dir()):
        role = _role(sub)
        if role and role not in roles:
            roles[role] = sub
    if set(roles) != {"input", "mask", "gt"}:
        return []
    inputs, masks, gts = (_items(roles[r]) for r in ("input", "mask", "gt"))
    sources = []
    for name in sorted(inputs):
        if name not in masks or name not in gts:
            raise InputError(inputs[name], f"has no matching mask or ground truth named {name!r}",
                             f"put {name} in both {roles['mask'].name}/ and {roles['gt'].name}/")

        def load(name=name) -> PairedClip:
            frames, fps = read_frames(inputs[name])
            gt, _ = read_frames(gts[name])
            _check_pair(str(inputs[name]), frames, gt)
            obj = read_mask(masks[name], frames)
            return PairedClip(f"{category}/{name}", category, frames, gt, obj, estimate_side_mask(frames, gt, obj), fps,
                              {"source": str(inputs[name]), "side": "estimated from the pair"})
        sources.append(ClipSource(f"{category}/{name}", category, load))
    return sources


def _davis(root: Path) -> list[ClipSource]:
    images, annotations = root / "JPEGImages", root / "Annotations"
    for res in ("480p", "Full-Resolution", "1080p"):
        if (images / res).is_dir() and (annotations / res).is_dir():
            images, annotations = images / res, annotations / res
            break
    sources = []
    for seq in sorted(p for p in images.iterdir() if p.is_dir()):
        ann = annotations / seq.name
        if not ann.is_dir():
            raise InputError(seq, "has no annotation folder", f"expected {ann}")

        def load(seq=seq, ann=ann) -> PairedClip:
            frames, _ = read_frames(seq)
            from ..io.readers import list_images

            files = list_images(ann)
            if len(files) != len(frames):
                raise InputError(ann, f"has {len(files)} annotations for {len(frames)} frames", "annotate every frame")
            obj = np.stack([cv2.imread(str(f), cv2.IMREAD_GRAYSCALE) > 0 for f in files])
            return PairedClip(seq.name, "davis", frames, None, obj, None, 25.0, {"source": str(seq)})
        sources.append(ClipSource(seq.name, "davis", load))
    return sources


def open_dataset(path: str | os.PathLike) -> list[ClipSource]:
    """Find the clips under ``path`` in any layout described in the module docstring."""
    root = Path(path)
    if not root.is_dir():
        raise InputError(root, "is not a folder", "give the folder holding the dataset")
    if (root / "meta.json").is_file():
        return [_synth_folder(root)]
    synth = sorted(p for p in root.iterdir() if (p / "meta.json").is_file())
    if synth:
        return [_synth_folder(p) for p in synth]
    if (root / "JPEGImages").is_dir() and (root / "Annotations").is_dir():
        return _davis(root)
    sources = _rose_group(root, _category_name(root.name))
    for group in sorted(p for p in root.iterdir() if p.is_dir()):
        sources += _rose_group(group, _category_name(group.name))
    if not sources:
        raise InputError(root, "holds no clips in a layout cleanplate knows",
                         "use `cleanplate synth` output, a ROSE-style video/mask/gt layout or DAVIS JPEGImages/Annotations; see docs/bench.md")
    return sources
