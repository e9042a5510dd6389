"""Local evaluation of side-effect estimation on the paired clips of ``sidefx_clips.py``.

    PYTHONPATH=src python tests/eval_sideeffects.py [--frames 40] [--size 240x360] [--engine median-known]

For each clip kind (shadow, moving-camera shadow, reflection, light, none) it reports:

- ``iou``: the estimated AFFECTED region (before the usual 4-pixel dilation) against the true one;
- ``relit``: PSNR of the relit frames alone against the clean plate on the side-effect region;
- ``off`` / ``auto`` / ``oracle-telea``: PSNR on the side-effect region of the full pipeline
  (``cleanplate.remove``) with side effects off, on, and of per-frame Telea given the true
  side-effect mask; and PSNR outside the object on clips with no side effect.

Until the propagate engine is merged, ``--engine median-known`` (the default) stands in for it: it
fills each hole pixel with the median of the frames where that scene point is outside the hole
(aligned by the clip's known pan), leaves AFFECTED pixels that are never uncovered as they are, and
inpaints REMOVE pixels that are never uncovered with Telea, as the propagate engine's contract says.
CPU seconds of estimation are reported as ``sidefx_cpu``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidefx_clips import make_clip  # noqa: E402

import cleanplate  # noqa: E402
from cleanplate import quadmask  # noqa: E402
from cleanplate.clip import Clip  # noqa: E402
from cleanplate.engines import register  # noqa: E402
from cleanplate.engines.base import Engine  # noqa: E402
from cleanplate.engines.baselines import telea_inpaint  # noqa: E402
from cleanplate.sideeffects import add_side_effects  # noqa: E402


@dataclasses.dataclass
class KnownPanConfig:
    pan: int = 0  # camera pan of the clip, pixels a frame (known from the generator)


@register
class KnownPanMedian(Engine):
    """Stand-in for the propagate engine on clips whose camera motion is a known integer pan."""

    name = "median-known"
    Config = KnownPanConfig

    def fill(self, clip: Clip, progress=None):
        frames, masks = clip.read()
        t, h, w, _ = frames.shape
        pan = self.config.pan
        width = w + pan * t
        stack = np.full((t, h, width, 3), np.nan, np.float32)
        for i in range(t):
            visible = ~quadmask.hole(masks[i])
            canvas = np.where(visible[..., None], frames[i].astype(np.float32), np.nan)
            stack[i, :, i * pan:i * pan + w] = canvas
        with np.errstate(all="ignore"):
            plate = np.nanmedian(stack, axis=0)
        for i in range(t):
            view = plate[:, i * pan:i * pan + w]
            never = np.isnan(view[..., 0])
            out = np.where(never[..., None], frames[i], np.nan_to_num(view).round()).astype(np.uint8)
            yield telea_inpaint(out, never & quadmask.object_region(masks[i]))


def psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float:
    if not region.any():
        return float("nan")
    diff = a.astype(np.float64)[region] - b.astype(np.float64)[region]
    return float(10 * np.log10(255.0 ** 2 / max((diff ** 2).mean(), 1e-10)))


def evaluate(kind: str, frames: int, h: int, w: int, engine: str, **kwargs) -> dict:
    c = make_clip(kind, frames=frames, h=h, w=w, **kwargs)
    kwargs.pop("seed", None)
    pan = kwargs.get("pan", 0)
    clip = Clip.from_arrays(c.video, c.masks)
    start = time.process_time()
    side_clip = add_side_effects(clip)
    relit, marked = side_clip.read()
    cpu = time.process_time() - start
    est = quadmask.affected_region(marked)
    union = (est | c.side).sum()
    options = dict(pan=pan) if engine == "median-known" else {}
    off = cleanplate.remove(c.video, c.masks, engine=engine, side_effects="off", **options)
    auto = cleanplate.remove(c.video, c.masks, engine=engine, side_effects="auto", **options)
    oracle = np.stack([telea_inpaint(f, quadmask.dilate_mask(m | s, 4)) for f, m, s in zip(c.video, c.masks, c.side)])
    outside = ~np.stack([quadmask.dilate_mask(m, 4) for m in c.masks])
    row = {
        "kind": kind + "".join(f" {k}={v}" for k, v in kwargs.items() if k != "seed"),
        "iou": (est & c.side).sum() / union if union else float("nan"),
        "est%": 100 * est.mean(),
        "true%": 100 * c.side.mean(),
        "input": psnr(c.video, c.clean, c.side),
        "relit": psnr(relit, c.clean, c.side),
        "off": psnr(off, c.clean, c.side),
        "auto": psnr(auto, c.clean, c.side),
        "oracle-telea": psnr(oracle, c.clean, c.side),
        "outside off": psnr(off, c.clean, outside),
        "outside auto": psnr(auto, c.clean, outside),
        "sidefx_cpu": cpu,
    }
    return row


def grab(path: str, frames: int, h: int, w: int) -> None:
    """One frame of each clip kind: input with the estimate (green) | relit | after the pipeline | truth."""
    import cv2

    rows = []
    for kind, kw in [("shadow", {"noise": 2.0}), ("reflection", {}), ("light", {}), ("none", {"pan": 2})]:
        c = make_clip(kind, frames=frames, h=h, w=w, **kw)
        side = add_side_effects(Clip.from_arrays(c.video, c.masks))
        relit, marked = side.read()
        soft = np.stack(list(side.soft_masks()))
        after = cleanplate.remove(c.video, c.masks, engine="median-known", side_effects="auto", pan=kw.get("pan", 0))
        t = frames // 2
        shown = c.video[t].astype(np.float32)
        a = 0.6 * soft[t][..., None]
        shown = (1 - a) * shown + a * np.float32([40, 255, 40])
        edge = cv2.morphologyEx(quadmask.affected_region(marked[t]).astype(np.uint8), cv2.MORPH_GRADIENT,
                                np.ones((3, 3), np.uint8)) > 0
        shown[edge] = (255, 255, 0)
        rows.append(np.concatenate([shown.astype(np.uint8), relit[t], after[t], c.clean[t]], axis=1))
    image = np.concatenate(rows, axis=0)
    image = cv2.resize(image, None, fx=900 / image.shape[1], fy=900 / image.shape[1], interpolation=cv2.INTER_AREA)
    cv2.imwrite(path, image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--size", default="240x360", help="HxW")
    parser.add_argument("--engine", default="median-known")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--grab", help="also write a JPEG of one frame per clip kind here")
    args = parser.parse_args()
    h, w = map(int, args.size.split("x"))
    if args.grab:
        grab(args.grab, args.frames, h, w)
    cases = [("shadow", {}), ("shadow", {"noise": 2.0}), ("shadow", {"pan": 2, "noise": 2.0}),
             ("shadow", {"strength": 0.7, "soften": 4.0}), ("reflection", {}), ("reflection", {"noise": 2.0}),
             ("light", {}), ("none", {}), ("none", {"pan": 2, "noise": 2.0}),
             ("shadow", {"speed": 0, "contrast": 0.2}), ("none", {"speed": 0, "contrast": 0.2})]
    keys = None
    for kind, kw in cases:
        for seed in range(args.seeds):
            row = evaluate(kind, args.frames, h, w, args.engine, seed=seed + 10, **kw)
            if keys is None:
                keys = list(row)
                print(" | ".join(keys))
            print(" | ".join(f"{row[k]:.3f}" if k in ("iou", "est%", "true%", "sidefx_cpu")
                             else (f"{row[k]:.1f}" if isinstance(row[k], float) else str(row[k])) for k in keys))


if __name__ == "__main__":
    main()
