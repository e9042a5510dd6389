"""Shared tiny fixtures: a textured background under a camera pan with a moving square over it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SAMPLES = Path(os.environ.get("CLEANPLATE_SAMPLES", Path(__file__).resolve().parents[1].parent / "shared" / "samples"))


def make_square_clip(frames: int = 9, size: int = 32, square: int = 8, seed: int = 0, pan: int = 1):
    """Return ``(video, masks, background)``: a square crossing a smooth textured background.

    The camera pans ``pan`` pixels a frame; ``background`` is the ground truth without the square.
    """
    rng = np.random.default_rng(seed)
    h = w = size
    big = rng.integers(0, 256, (h // 4 + 4, w // 4 + 4 + frames * pan // 4 + 4, 3)).astype(np.uint8)
    import cv2

    canvas = cv2.resize(big, (big.shape[1] * 4, big.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    background = np.stack([canvas[:h, t * pan:t * pan + w] for t in range(frames)])
    video = background.copy()
    masks = np.zeros((frames, h, w), bool)
    for t in range(frames):
        x = 2 + t * (w - square - 4) // max(frames - 1, 1)
        y = h // 2 - square // 2
        video[t, y:y + square, x:x + square] = (255, 0, 0)
        masks[t, y:y + square, x:x + square] = True
    return video, masks, background


@pytest.fixture
def square_clip():
    return make_square_clip()


def samples_dir(name: str) -> Path:
    """Path of a real sample clip; skips the test with a clear reason when samples are absent."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample clips not found at {SAMPLES} (set CLEANPLATE_SAMPLES)")
    return path
