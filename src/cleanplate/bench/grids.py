"""A picture per clip to look at: input, each engine's output, ground truth and error map, one frame."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import cv2
import numpy as np

from .loaders import PairedClip

TILE_WIDTH = 320
ERROR_GAIN = 4  # the error map shows 4x the absolute error, so small errors are visible


def _tile(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    if w == TILE_WIDTH:
        return image
    size = (TILE_WIDTH, max(1, round(h * TILE_WIDTH / w)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if w > TILE_WIDTH else cv2.INTER_LINEAR)


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    scale = 0.4
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(out, (0, 0), (tw + 6, th + base + 6), (0, 0, 0), -1)
    cv2.putText(out, text, (3, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def outline(frame: np.ndarray, obj: np.ndarray, side: np.ndarray | None) -> np.ndarray:
    """``frame`` with the object's outline in red and the side effect's in yellow."""
    out = frame.copy()
    for mask, color in ((side, (255, 220, 0)), (obj, (255, 40, 40))):
        if mask is None or not mask.any():
            continue
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, color, 1)
    return out


def error_map(output: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``|output - reference|`` (max over channels) times ``ERROR_GAIN``, coloured (black = exact)."""
    diff = np.abs(output.astype(np.int16) - reference.astype(np.int16)).max(-1)
    grey = np.clip(diff * ERROR_GAIN, 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def make_grid(clip: PairedClip, t: int, outputs: dict[str, np.ndarray]) -> np.ndarray:
    """RGB uint8 picture of frame ``t``.

    First row: the input (object outlined red, side effect yellow) | the ground truth.
    Then one row per engine: its output | its error map against the ground truth.
    """
    reference = clip.gt[t] if clip.gt is not None else clip.input[t]
    ref_name = "ground truth" if clip.gt is not None else "input (no ground truth)"
    side = clip.side[t] if clip.side is not None else None
    rows = [np.concatenate([_label(_tile(outline(clip.input[t], clip.object[t], side)), f"{clip.name} frame {t}"),
                            _label(_tile(reference), ref_name)], axis=1)]
    for label, frame in outputs.items():
        rows.append(np.concatenate([_label(_tile(frame), label),
                                    _label(_tile(error_map(frame, reference)), f"{label}: error x{ERROR_GAIN}")], axis=1))
    return np.concatenate(rows, axis=0)


def write_grid(path: str | os.PathLike, clip: PairedClip, t: int, outputs: dict[str, np.ndarray]) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp.png")
    cv2.imwrite(str(tmp), cv2.cvtColor(make_grid(clip, t, outputs), cv2.COLOR_RGB2BGR))
    os.replace(tmp, path)
    return path
