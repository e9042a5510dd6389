"""Synthetic paired clips on the fly, for training: nothing is written to disk.

>>> data = SynthDataset(seed=0, length=1000, size=(256, 160), frames=17)   # doctest: +SKIP
>>> clip = data[5]            # a SynthClip; data[5] is the same clip every time

The core is plain NumPy. :meth:`SynthDataset.torch` wraps it as a ``torch.utils.data.Dataset``
(torch imported only then) returning float tensors ``(T, 3, H, W)`` in ``[0, 1]``.
"""

from __future__ import annotations

from .generate import CATEGORIES, SynthClip, generate_clip


class SynthDataset:
    """``length`` clips; item ``i`` is clip ``seed + i`` of category ``categories[i % len(categories)]``."""

    def __init__(self, seed: int = 0, length: int = 1000, size: tuple[int, int] = (320, 192), frames: int = 24,
                 categories: tuple[str, ...] = CATEGORIES):
        bad = [c for c in categories if c not in CATEGORIES]
        if bad or not categories:
            raise ValueError(f"unknown categories {bad}; choose from {', '.join(CATEGORIES)}")
        if length < 0:
            raise ValueError(f"length must be >= 0, got {length}")
        self.seed, self.length, self.size, self.frames = seed, length, tuple(size), frames
        self.categories = tuple(categories)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> SynthClip:
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} clips")
        category = self.categories[index % len(self.categories)]
        return generate_clip(self.seed + index, category, self.size, self.frames)

    def torch(self):
        """This dataset as a ``torch.utils.data.Dataset`` of dicts of tensors (imports torch)."""
        import torch

        data = self

        class _TorchSynth(torch.utils.data.Dataset):
            def __len__(self) -> int:
                return len(data)

            def __getitem__(self, index: int) -> dict:
                clip = data[index]
                frames = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).float().div(255)
                return {"input": frames(clip.input), "gt": frames(clip.gt),
                        "object": torch.from_numpy(clip.object), "side": torch.from_numpy(clip.side),
                        "quadmask": torch.from_numpy(clip.quadmask), "category": clip.meta["category"]}

        return _TorchSynth()
