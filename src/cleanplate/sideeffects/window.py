"""A window of frames aligned onto one canvas, and its temporal background.

The frames of a window are warped onto the middle frame by the camera motion (:mod:`.align`), on a
canvas widened to hold every frame's view; the median of the aligned frames outside the object is
the background (:mod:`.background`). Masks and images move between a frame and the canvas with
:meth:`AlignedWindow.to_ref` / :meth:`AlignedWindow.from_ref`.
"""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from . import align, parallax
from .background import masked_median
from .select import object_height

log = logging.getLogger(__name__)

OBJECT_MARGIN = 2  # working pixels around the object where its own edge spoils any comparison
STATIC_GROWTH = 1.5  # the object moves when the union of its masks is this much bigger than one mask
MEDIAN_FRAMES = 24  # the background is the median of at most this many frames, spread evenly over the window


@dataclasses.dataclass
class WorkFrame:
    """One frame at working resolution."""

    image: np.ndarray  # (h, w, 3) uint8 RGB
    obj: np.ndarray  # (h, w) bool: REMOVE or OVERLAP
    user: np.ndarray  # (h, w) bool: AFFECTED given by the user


def box_of(mask: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the pixels of ``mask``, grown by ``pad`` and clipped to the frame."""
    ys = np.nonzero(mask.any(axis=1))[0]
    xs = np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    return max(ys[0] - pad, 0), min(ys[-1] + 1 + pad, h), max(xs[0] - pad, 0), min(xs[-1] + 1 + pad, w)


def disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` dilated by a disk of ``radius`` pixels."""
    return cv2.dilate(mask.astype(np.uint8), disk(radius)).astype(bool) if radius > 0 else mask


def temporal_spread(stack: np.ndarray, median: np.ndarray, excluded: np.ndarray, min_samples: int) -> np.ndarray:
    """Robust standard deviation ``(H, W)`` float32 of the samples' luminance about the ``median``
    (1.4826 x their median absolute deviation, Hampel 1974), leaving out the ``excluded`` samples.

    Where the frames are aligned, the samples of a point differ by noise and by a passing shadow
    (a minority of them); where they are not (a layer the camera motion does not fit: parallax),
    each sample shows a different bit of texture, and a frame differs from the median by as much.
    """
    mean = np.full((1, 3), 1 / 3, np.float32)
    centre = cv2.transform(np.clip(median + 0.5, 0, 255).astype(np.uint8), mean)
    deviation = np.stack([cv2.absdiff(cv2.transform(image, mean), centre) for image in stack])[..., None]
    return 1.4826 * masked_median(deviation, excluded, min_samples)[0][..., 0]


class AlignedWindow:
    """Frames of one window on a common canvas (the middle frame's, widened)."""

    def __init__(self, frames: list[WorkFrame]):
        self.frames = frames
        h, w = frames[0].obj.shape
        self.size = (w, h)
        self.blocked = [grow(f.obj, OBJECT_MARGIN + 1) | f.user for f in frames]
        self.heights = [object_height(f.obj) for f in frames]
        greys = [cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY) for f in frames]
        self.transforms = self._camera_motion(greys)
        self.still = align.is_still(self.transforms, self.size)
        self.canvas = self.size
        if self.still:
            self.transforms = [align.IDENTITY] * len(frames)
        else:
            self.transforms, self.canvas = align.to_canvas(self.transforms, self.size)
        # The median's samples: every frame of a short window; of a long one, MEDIAN_FRAMES spread
        # over its whole span (the same share of them must show a point unaffected; the median of
        # 40 frames costs nearly twice that of 24 and is hardly steadier).
        self.sampled = np.unique(np.round(np.linspace(0, len(frames) - 1, min(len(frames), MEDIAN_FRAMES))).astype(int))
        self.stack, self.outside = self._aligned_stack()
        # Masks put on the canvas more than once (the background, the moving lamp's far view, whether
        # the object moves): warped once (see :meth:`obj_on_canvas`, :meth:`blocked_on_canvas`).
        self._on_canvas: dict[tuple[str, int], np.ndarray] = {}
        self._unions: dict[int, tuple[list[np.ndarray], np.ndarray]] = {}
        self._excluded: tuple[tuple[int, int, int, int], np.ndarray] | None = None
        self.moving = self._object_moves(greys)
        self.min_samples = max(3, len(self.sampled) // 5)
        # Canvas pixels the window sees often enough; where they are not "known" after leaving the
        # object out, the object (or its effect) hid them: only there may spatial cues stand in.
        self.in_view = (len(self.sampled) - np.sum(self.outside, axis=0)) >= self.min_samples
        self.centres = [self._object_centre(i) for i in range(len(frames))]
        # How much the aligned samples scatter about the background (see :meth:`background`).
        self.spread = np.zeros(self.canvas[::-1], np.float32)

    def _camera_motion(self, greys: list[np.ndarray]) -> list[np.ndarray]:
        """Track every frame directly to the middle one, walking outwards from it so that each
        frame starts from its neighbour's motion: no error builds up along a chain.

        The two walks (after the middle frame, before it) are independent and spend their time in
        OpenCV, which releases the GIL, and one call on a few hundred corners does not keep two
        cores busy: the earlier half is walked in a second thread, beside the later one.
        """
        ref = len(greys) // 2
        out = [align.IDENTITY] * len(greys)

        def walk(order: range) -> None:
            guess = None
            for i in order:
                usable = ~(self.blocked[ref] | self.blocked[i])
                out[i] = guess = align.frame_motion(greys[ref], greys[i], usable, guess)

        with ThreadPoolExecutor(max_workers=1) as pool:
            earlier = pool.submit(walk, range(ref - 1, -1, -1))
            walk(range(ref + 1, len(greys)))
            earlier.result()
        return out

    def _aligned_stack(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The sampled frames on the canvas, and where each does not reach."""
        frames = [self.frames[i] for i in self.sampled]
        if self.still:
            off = np.zeros(frames[0].obj.shape, bool)
            return np.stack([f.image for f in frames]), [off] * len(frames)
        images, outside = [], []
        for f, i in zip(frames, self.sampled):
            images.append(align.warp(f.image, self.transforms[i], self.canvas))
            outside.append(~align.coverage(self.transforms[i], self.canvas, source_size=self.size))
        return np.stack(images), outside

    def to_ref(self, mask: np.ndarray, i: int) -> np.ndarray:
        """A bool mask of frame ``i`` on the canvas."""
        return mask if self.still else align.warp_mask(mask, self.transforms[i], self.canvas)

    def obj_on_canvas(self, i: int) -> np.ndarray:
        """``to_ref`` of frame ``i``'s object (warped once; not to be written to)."""
        return self._cached_to_ref("obj", i, self.frames[i].obj)

    def blocked_on_canvas(self, i: int) -> np.ndarray:
        """``to_ref`` of ``blocked[i]`` (warped once; not to be written to). A nearest-neighbour warp
        moves each pixel on its own, so ``to_ref(a | b) == to_ref(a) | to_ref(b)``: a mask grown from
        it is put on the canvas as this, or'ed with the rest."""
        return self._cached_to_ref("blocked", i, self.blocked[i])

    def _cached_to_ref(self, name: str, i: int, mask: np.ndarray) -> np.ndarray:
        key = (name, i)
        if key not in self._on_canvas:
            self._on_canvas[key] = self.to_ref(mask, i)
        return self._on_canvas[key]

    def union_on_canvas(self, masks: list[np.ndarray]) -> np.ndarray:
        """The union on the canvas of ``masks`` (one per frame); the same list's union is made once."""
        key = id(masks)
        if key not in self._unions or self._unions[key][0] is not masks:
            self._unions[key] = (masks, np.logical_or.reduce([self.to_ref(m, i) for i, m in enumerate(masks)]))
        return self._unions[key][1]

    def excluded_stack(self, crop: tuple[int, int, int, int]) -> np.ndarray:
        """``(N, h, w)`` bool, per sampled frame, in ``crop = (y0, y1, x0, x1)`` of the canvas: what
        the median leaves out (the blocked pixels, and where the frame does not reach). Kept for the
        last crop asked for (the background's and the moving lamp's far view share it)."""
        if self._excluded is None or self._excluded[0] != crop:
            y0, y1, x0, x1 = crop
            self._excluded = crop, np.stack([(self.blocked_on_canvas(i) | self.outside[k])[y0:y1, x0:x1]
                                             for k, i in enumerate(self.sampled)])
        return self._excluded[1]

    def _to_box(self, i: int, box: tuple[int, int, int, int] | None) -> tuple[np.ndarray, tuple[int, int]]:
        """Transform from the crop ``box`` ``(y0, y1, x0, x1)`` of frame ``i`` (the whole frame: None)
        to the canvas, and the crop's ``(w, h)``."""
        if box is None:
            return self.transforms[i], self.size
        y0, y1, x0, x1 = box
        return self.transforms[i] @ np.float64([[1, 0, x0], [0, 1, y0], [0, 0, 1]]), (x1 - x0, y1 - y0)

    def from_ref(self, image: np.ndarray, i: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """A canvas image in frame ``i``'s coordinates (only its crop ``box``, when given)."""
        if self.still:
            return image if box is None else image[box[0]:box[1], box[2]:box[3]]
        h, size = self._to_box(i, box)
        return align.warp(image, h, size, inverse=True)

    def mask_from_ref(self, mask: np.ndarray, i: int, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """A canvas bool mask in frame ``i``'s coordinates (False where the canvas does not reach);
        only its crop ``box``, when given."""
        if self.still:
            return mask if box is None else mask[box[0]:box[1], box[2]:box[3]]
        h, size = self._to_box(i, box)
        back = align.warp_mask(mask, h, size, inverse=True)
        if box is None:
            return back & align.coverage(h, size, inverse=True, source_size=self.canvas)
        # The coverage is eroded by one pixel: read one more around the crop, as the whole frame would.
        (fh, fw), (y0, y1, x0, x1) = self.frames[i].obj.shape, box
        wide = (max(y0 - 1, 0), min(y1 + 1, fh), max(x0 - 1, 0), min(x1 + 1, fw))
        hw, wide_size = self._to_box(i, wide)
        cover = align.coverage(hw, wide_size, inverse=True, source_size=self.canvas)
        return back & cover[y0 - wide[0]:y1 - wide[0], x0 - wide[2]:x1 - wide[2]]

    def carry(self, mask: np.ndarray, j: int, i: int) -> np.ndarray:
        """Frame ``j``'s ``mask`` in frame ``i``, moved by the camera and by the object's own motion."""
        shift = np.eye(3)
        if np.all(np.isfinite(self.centres[i] - self.centres[j])):
            shift[:2, 2] = self.centres[i] - self.centres[j]
        move = np.linalg.inv(self.transforms[i]) @ shift @ self.transforms[j]
        return align.warp_mask(mask, move, self.size)

    def _object_centre(self, i: int) -> np.ndarray:
        """Centroid ``(x, y)`` of the object on the canvas (NaN when absent)."""
        ys, xs = np.nonzero(self.frames[i].obj)
        if len(xs) == 0:
            return np.float64([np.nan, np.nan])
        point = np.float32([[[xs.mean(), ys.mean()]]])
        return cv2.perspectiveTransform(point, self.transforms[i]).reshape(2).astype(np.float64)

    def _object_moves(self, greys: list[np.ndarray]) -> bool:
        """Whether the object moves over the scene it stands on: the union of its masks on the canvas
        is :data:`STATIC_GROWTH` times one mask's area or more, however the masks are put there.

        The camera motion fits the far scene; a still object nearer the camera drifts against it
        under a sideways move (parallax) and would count as moving. So each candidate drift of the
        ground below the object (:func:`.parallax.ground_drifts`) puts the masks on the canvas once
        more, that drift taken back out: the object is still when its masks stay together for the
        far scene or for the ground at some depth below it.
        """
        objs = [self.obj_on_canvas(i) for i in range(len(self.frames))]
        areas = [int(o.sum()) for o in objs]
        if not any(areas):
            return False
        if np.logical_or.reduce(objs).sum() < STATIC_GROWTH * np.mean(areas):
            return False
        if self.still:
            return True
        present = [i for i, a in enumerate(areas) if a]
        limit = STATIC_GROWTH * np.mean(areas)
        y0, y1, x0, x1 = box_of(np.logical_or.reduce([objs[i] for i in present]), pad=0)
        centre = np.float32([[[0.5 * (x0 + x1), 0.5 * (y0 + y1)]]])
        at = {i: cv2.perspectiveTransform(centre, np.linalg.inv(self.transforms[i])) for i in present}
        for drift in parallax.ground_drifts(greys, self.transforms, [f.obj for f in self.frames], self.blocked,
                                            self.sampled):
            # The drift of frame i (its pixels) taken back out, as a shift on the canvas at the object.
            shifts = [np.round((cv2.perspectiveTransform(at[i] - drift[i].astype(np.float32), self.transforms[i])
                                - centre).reshape(2)).astype(int) for i in present]
            pad = int(np.abs(shifts).max())
            grown = np.zeros((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), bool)
            for i, (dx, dy) in zip(present, shifts):
                grown[pad + dy:pad + dy + y1 - y0, pad + dx:pad + dx + x1 - x0] |= objs[i][y0:y1, x0:x1]
            if grown.sum() < limit:
                log.debug("object still over the ground below it (union %.2f of its mean mask)",
                          STATIC_GROWTH * grown.sum() / limit)
                return False
        return True

    def background(self, wanted: list[np.ndarray], side: list[np.ndarray] | None = None,
                   first: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Median ``(canvas, float32 RGB)`` of the aligned frames and where it is known, leaving out the
        object (and ``side``, per frame), computed around the ``wanted`` masks (per frame) only.

        With ``side``, the ``first`` estimate is updated where the side masks change what is left out.
        """
        w, h = self.canvas
        if side is None:
            median, known = np.zeros((h, w, 3), np.float32), np.zeros((h, w), bool)
            where = self.union_on_canvas(wanted)
        else:
            median, known = first[0].copy(), first[1].copy()
            side = [self.to_ref(grow(m, 2), i) for i, m in enumerate(side)]
            where = np.logical_or.reduce(side)
        if not where.any():
            return median, known
        y0, y1, x0, x1 = box_of(where, pad=4)
        crop = np.s_[y0:y1, x0:x1]
        if side is None:
            excluded = self.excluded_stack((y0, y1, x0, x1))
        else:  # to_ref(blocked | side) is to_ref(blocked) | to_ref(side) (see blocked_on_canvas)
            excluded = np.stack([(self.blocked_on_canvas(i) | side[i] | self.outside[k])[crop]
                                 for k, i in enumerate(self.sampled)])
        values, enough = masked_median(self.stack[:, y0:y1, x0:x1], excluded, self.min_samples)
        median[crop] = values
        known[crop] = enough
        if not self.still:
            self.spread[crop] = temporal_spread(self.stack[:, y0:y1, x0:x1], values, excluded, self.min_samples)
        return median, known
