"""Where training pairs come from, and the seeded, resumable stream of batches cut from them.

A *source* has ``read(index, rng) -> dict`` (a raw sample, see :mod:`cleanplate.train.sample`)
and, if it is finite, ``__len__``. Three kinds are built in (``data.kind`` in the config):

- ``toy``: :class:`cleanplate.train.toy.ToyPairs`, tiny generated clips for smoke runs;
- ``folder``: :class:`FolderPairs`, users' own pairs on disk (layout in its docstring);
- ``synth``: :class:`SynthPairs`, endless seeded synthetic pairs of :mod:`cleanplate.bench.synth`
  (an object and its shadow, reflection, light...; the ground truth without them);
- ``python``: ``data.path = "package.module:function"``; the function is called with
  ``data.options`` and returns anything :func:`as_source` accepts: a source, a sequence of sample
  dicts, a function ``index -> dict`` (an endless generator such as synthetic pairs), or an
  iterable of dicts.

:class:`TrainStream` draws sample ``k`` of the run from the source and prepares it with a random
generator seeded by ``(seed, k)`` alone, so the stream resumes at any sample bit for bit without
saving any state but ``k``.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .. import quadmask
from ..errors import InputError
from .config import DataConfig, TrainConfig
from .sample import prepare_sample

log = logging.getLogger(__name__)


class SequenceSource:
    """A finite sequence of sample dicts (a list, or a dataset with ``__len__``/``__getitem__``)."""

    def __init__(self, items: Sequence):
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def read(self, index: int, rng: np.random.Generator) -> dict:
        return self.items[index]


class FunctionSource:
    """An endless source: ``make(index) -> dict``, e.g. a seeded synthetic-pair generator."""

    def __init__(self, make: Callable[[int], dict]):
        self.make = make

    def read(self, index: int, rng: np.random.Generator) -> dict:
        return self.make(index)


class IterableSource:
    """An iterable of sample dicts, read in order. Resuming at sample ``k`` re-reads and skips
    the first ``k`` samples, so the iterable must give the same samples each time it is iterated."""

    def __init__(self, iterable: Iterable[dict]):
        self.iterable = iterable
        self._it: Iterator[dict] | None = None
        self._next = 0

    def read(self, index: int, rng: np.random.Generator) -> dict:
        if self._it is None or index < self._next:
            self._it, self._next = iter(self.iterable), 0
        for _ in range(index - self._next):
            next(self._it)
        self._next = index + 1
        try:
            return next(self._it)
        except StopIteration:
            raise InputError("data source", f"ran out after {index} samples",
                             "give an endless iterable, a sequence or a function index -> sample") from None


def as_source(obj):
    """Wrap a source, a sequence, a function ``index -> dict`` or an iterable of dicts."""
    if hasattr(obj, "read"):
        return obj
    if isinstance(obj, Sequence) or (hasattr(obj, "__getitem__") and hasattr(obj, "__len__")):
        return SequenceSource(obj)
    if callable(obj):
        return FunctionSource(obj)
    if isinstance(obj, Iterable):
        return IterableSource(obj)
    raise InputError("data source", f"{type(obj).__name__} gives no samples",
                     "return a sequence, an iterable of dicts or a function index -> dict")


# -- users' pairs on disk --------------------------------------------------------------------
def _find(folder: Path, stem: str) -> Path | None:
    """``folder/stem.<video or image suffix>`` or the frame folder ``folder/stem/``."""
    if (folder / stem).is_dir():
        return folder / stem
    matches = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file())
    return matches[0] if matches else None


class FolderPairs:
    """Users' own pairs: one sub-folder per clip.

    ::

        pairs/
          clip-001/
            input.mp4   the video with the object (or input/ with frames 0001.png, ...)
            gt.mp4      the same shot without it (same frame count and size)
            mask.mp4    the object, white = object (a video, a frame folder or one image)
            side.mp4    optional: the object's shadow/reflection, white = side effect
          clip-002/ ...

    Any video format PyAV reads works. Without ``side``, the side-effect mask is found from the
    pair (eqs. 1-2). Each read takes a random window of ``frames`` frames and decodes only up to it.
    """

    def __init__(self, root: str | os.PathLike, frames: int):
        from ..io import open_mask, open_video

        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(self.root, "is not a folder", "give the folder that holds one sub-folder per pair")
        self.frames = frames
        self.pairs = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            paths = {stem: _find(folder, stem) for stem in ("input", "gt", "mask", "side")}
            missing = [s for s in ("input", "gt", "mask") if paths[s] is None]
            if missing:
                raise InputError(folder, f"has no {', '.join(missing)}",
                                 "each pair folder needs input, gt and mask (video, frame folder or image)")
            video = open_video(paths["input"])
            gt = open_video(paths["gt"])
            info = video.info
            if gt.info.num_frames != info.num_frames or gt.info.size != info.size:
                raise InputError(paths["gt"], f"is {gt.info.num_frames} frames of {gt.info.size}, the input "
                                 f"{info.num_frames} of {info.size}", "give ground truth aligned to the input")
            if info.num_frames < frames:
                raise InputError(paths["input"], f"has {info.num_frames} frames, fewer than data.frames={frames}",
                                 "give longer clips or lower data.frames")
            masks = {s: open_mask(paths[s], info) for s in ("mask", "side") if paths[s] is not None}
            self.pairs.append((folder, video, gt, masks))
        if not self.pairs:
            raise InputError(self.root, "holds no pair folders", "put each pair in its own sub-folder (see docs/training.md)")

    def __len__(self) -> int:
        return len(self.pairs)

    def read(self, index: int, rng: np.random.Generator) -> dict:
        folder, video, gt, masks = self.pairs[index]
        start = int(rng.integers(0, video.info.num_frames - self.frames + 1))
        streams = [video, gt] + list(masks.values())
        window = list(itertools.islice(zip(*streams), start, start + self.frames))
        arrays = [np.stack(frames) for frames in zip(*window)]
        sample = {"input": arrays[0], "gt": arrays[1]}
        for name, q in zip(masks, arrays[2:]):
            sample[name] = quadmask.object_region(q)
        return sample


# -- synthetic pairs --------------------------------------------------------------------------
class SynthPairs:
    """Endless synthetic pairs (:mod:`cleanplate.bench.synth`): sample ``index`` is the clip of seed
    ``seed + index`` and category ``categories[index % len(categories)]``, as in ``SynthDataset``.

    Clips are rendered at ``size`` (``(width, height)``, default the training size) and, when that
    differs, brought to the training size the way the diffusion engine resizes its input: frames by
    area averaging, masks so that any covered pixel stays covered. Keep evaluation seeds apart from
    ``[seed, seed + samples seen)``.
    """

    def __init__(self, frames: int, width: int, height: int, seed: int = 0, size=None, categories=None):
        try:
            from ..bench.synth import CATEGORIES
        except ModuleNotFoundError:
            raise InputError("data.kind=synth", "needs cleanplate.bench.synth, which is not installed",
                             "install cleanplate with its benchmark, or use data.kind: folder") from None
        self.frames, self.width, self.height, self.seed = frames, width, height, int(seed)
        self.size = tuple(size) if size else (width, height)
        self.categories = tuple(categories or CATEGORIES)
        bad = [c for c in self.categories if c not in CATEGORIES]
        if bad or len(self.size) != 2:
            raise InputError(f"data.options of synth ({bad or self.size})", "are not valid",
                             f"categories from: {', '.join(CATEGORIES)}; size: [width, height]")

    def read(self, index: int, rng: np.random.Generator | None = None) -> dict:
        from ..bench.synth import generate_clip
        from ..engines.diffusion.engine import resize_frame, resize_quadmask

        category = self.categories[index % len(self.categories)]
        clip = generate_clip(self.seed + index, category, self.size, self.frames)
        sample = {"input": clip.input, "gt": clip.gt, "mask": clip.object, "side": clip.side}
        target = (self.width, self.height)
        if self.size != target:
            q = np.stack([resize_quadmask(m, target) for m in clip.quadmask])
            sample = {"input": np.stack([resize_frame(f, target) for f in clip.input]),
                      "gt": np.stack([resize_frame(f, target) for f in clip.gt]),
                      "mask": quadmask.object_region(q), "side": quadmask.affected_region(q)}
        return sample


# -- the registry of source kinds -------------------------------------------------------------
def _toy(data: DataConfig):
    from .toy import ToyPairs

    return ToyPairs(frames=data.frames, height=data.height, width=data.width, **data.options)


def _folder(data: DataConfig):
    if not data.path:
        raise InputError("data.path", "is empty", "set it to the folder of pairs")
    return FolderPairs(data.path, data.frames)


def _python(data: DataConfig):
    module_name, _, attr = (data.path or "").partition(":")
    if not module_name or not attr:
        raise InputError(f"data.path={data.path!r}", "must be 'package.module:function'")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise InputError(f"data.path={data.path!r}", f"cannot be imported ({err})",
                         "check the module is importable and defines the function") from None
    return as_source(factory(**data.options))


def _synth(data: DataConfig):
    unknown = set(data.options) - {"seed", "size", "categories"}
    if unknown:
        raise InputError(f"data.options: {', '.join(sorted(unknown))}", "is not an option of data.kind=synth",
                         "valid: seed, size, categories")
    return SynthPairs(data.frames, data.width, data.height, **data.options)


SOURCES: dict[str, Callable[[DataConfig], object]] = {"toy": _toy, "folder": _folder, "python": _python,
                                                        "synth": _synth}


def build_source(data: DataConfig):
    """The source named by ``data.kind``."""
    if data.kind not in SOURCES:
        raise InputError(f"data.kind={data.kind!r}", "is not a data source", f"choose one of: {', '.join(SOURCES)}")
    return SOURCES[data.kind](data)


# -- the stream --------------------------------------------------------------------------------
class TrainStream:
    """Prepared, collated batches of ``data.batch_size`` samples, seeded per sample.

    A finite source is visited in a fresh seeded permutation each epoch; an endless one in order.
    """

    def __init__(self, source, config: TrainConfig):
        self.source = as_source(source)
        self.config = config

    def index_of(self, k: int) -> int:
        """The source index of the run's ``k``-th sample."""
        if not hasattr(self.source, "__len__"):
            return k
        n = len(self.source)
        epoch, offset = divmod(k, n)
        return int(np.random.default_rng([self.config.seed, 1, epoch]).permutation(n)[offset])

    def sample(self, k: int) -> dict:
        """The run's ``k``-th prepared sample; depends on ``(seed, k)`` and the source alone."""
        c = self.config
        rng = np.random.default_rng([c.seed, 0, k])
        index = self.index_of(k)
        raw = self.source.read(index, rng)
        return prepare_sample(raw, rng, frames=c.data.frames, height=c.data.height, width=c.data.width,
                              delta=c.oird.delta, given_side=c.oird.given_side,
                              min_stride=c.keyframes.min_stride, max_stride=c.keyframes.max_stride,
                              keyframe_probability=c.keyframes.probability, where=f"data sample {index}")

    def batches(self, start: int = 0) -> Iterator[dict]:
        """Endless batches, beginning at the run's ``start``-th sample."""
        size = self.config.data.batch_size
        for k in itertools.count(start, size):
            yield collate([self.sample(k + i) for i in range(size)])


def collate(samples: list[dict]) -> dict:
    """Stack prepared samples: ``input``/``gt`` ``(B, T, H, W, 3) uint8``, ``mask``/``side``
    ``(B, T, H, W) bool``, ``quadmask`` ``(B, T, H, W) uint8``, ``stride`` ``(B,) int``."""
    keys = ("input", "gt", "mask", "side", "quadmask")
    batch = {key: np.stack([s[key] for s in samples]) for key in keys}
    batch["stride"] = np.array([s["stride"] for s in samples], np.int64)
    return batch
