"""Estimate the side effects in one window of frames, at working resolution.

For a window of frames (object masks given), in numbered steps:

1. camera motion between consecutive frames, chained onto the window's middle frame (:mod:`.align`);
2. a temporal background: the median of the aligned frames outside the object (:mod:`.background`);
3. per frame, evidence of a shadow or light (:mod:`.shadows`) and of a reflection
   (:mod:`.reflections`) against that background, near the object only; where time gives no evidence
   (the object hardly moves, or the point is never seen unaffected) the spatial cues stand in: the
   lit surroundings and mirror symmetry;
4. regions grown from clear evidence (:mod:`.select`); with ``refine_background`` the background is
   estimated again without them and step 3 repeated;
5. a soft mask (``>= threshold`` is AFFECTED; capped to ``max_fraction`` of the frame) and a relighting
   gain (:mod:`.relight`).
"""

from __future__ import annotations

import dataclasses
import logging

import cv2
import numpy as np

from . import align
from .background import masked_median
from .config import SideEffectConfig
from .reflections import change_evidence, mirror_region, symmetry_evidence
from .relight import estimate_shading, relight_gain
from .select import (cap_region, contact_zone, grow_fringe, grow_regions, keep_persistent, object_height,
                     search_zone)
from .shadows import (chroma_kept, compare, light_evidence, luminance_ratio, masked_blur, shadow_evidence,
                      spatial_background, surface_spread)

log = logging.getLogger(__name__)

NOISE_SIGMA = 1.0  # pre-blur of frames and background before comparing them (working pixels)
SHADING_SIGMA = 1.0  # smoothing of the per-pixel shading ratio (working pixels)
OBJECT_MARGIN = 2  # working pixels around the object where its own edge spoils any comparison
STATIC_GROWTH = 1.5  # the object moves when the union of its masks is this much bigger than one mask
SPREAD_MARGIN = 2.0  # a spatial shadow must darken the ground this many times its texture's spread
ENVELOPE = np.ones((3, 3), np.uint8)
FRINGE = 3  # working pixels of plain-comparison evidence added around regions found under camera motion
PERSIST_FRAMES = 2  # a region must be found again in the frames this close ...
PERSIST_LEVEL = 0.5  # ... in this share of them, at the same place relative to the object  # under camera motion, compare with the range of the background nearby


@dataclasses.dataclass
class WorkFrame:
    """One frame at working resolution."""

    image: np.ndarray  # (h, w, 3) uint8 RGB
    obj: np.ndarray  # (h, w) bool: REMOVE or OVERLAP
    user: np.ndarray  # (h, w) bool: AFFECTED given by the user


@dataclasses.dataclass
class FrameEstimate:
    """Side effects found in one frame, at working resolution, cropped to where anything was found."""

    box: tuple[int, int, int, int] | None  # (y0, y1, x0, x1) of the crop; None when nothing was found
    soft: np.ndarray | None  # (y1-y0, x1-x0) float16 in [0, 1]: the soft side-effect mask
    gain: np.ndarray | None  # (y1-y0, x1-x0, 3) float16: relighting gain, 1 where nothing is relit
    capped: bool = False  # the estimate was cut down to max_fraction of the frame

    @classmethod
    def empty(cls) -> "FrameEstimate":
        return cls(None, None, None)


@dataclasses.dataclass
class Evidence:
    """What one frame shows, inside ``box`` (a crop around the search zone) at working resolution."""

    box: tuple[int, int, int, int]  # (y0, y1, x0, x1)
    frame: np.ndarray  # (h, w, 3) float32: the frame as it is
    obj: np.ndarray  # (h, w) bool
    user: np.ndarray  # (h, w) bool
    evidence: np.ndarray  # (h, w) float32 in [0, 1]: the strongest cue
    found: np.ndarray  # (h, w) bool: regions grown from clear evidence
    confidence: np.ndarray  # (h, w) float32: how surely a change there is a change of shading
    shade_bg: np.ndarray  # (h, w, 3) float32: the unaffected surface the shading is measured against
    usable: np.ndarray  # (h, w) bool: where that surface is known


def _box(mask: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the pixels of ``mask``, grown by ``pad`` and clipped to the frame."""
    ys = np.nonzero(mask.any(axis=1))[0]
    xs = np.nonzero(mask.any(axis=0))[0]
    h, w = mask.shape
    return max(ys[0] - pad, 0), min(ys[-1] + 1 + pad, h), max(xs[0] - pad, 0), min(xs[-1] + 1 + pad, w)


def _translation(shift: np.ndarray) -> np.ndarray:
    """Homography of a shift ``(dx, dy)``; the identity when the shift is unknown (NaN)."""
    out = np.eye(3)
    if np.all(np.isfinite(shift)):
        out[:2, 2] = shift
    return out


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), _disk(radius)).astype(bool) if radius > 0 else mask


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), NOISE_SIGMA)


class WindowAnalysis:
    """The background of one window and the evidence of every frame in it."""

    def __init__(self, frames: list[WorkFrame], config: SideEffectConfig, scale: float):
        self.frames = frames
        self.config = config
        self.scale = scale
        h, w = frames[0].obj.shape
        self.size = (w, h)
        self.blocked = [_grow(f.obj, OBJECT_MARGIN + 1) | f.user for f in frames]
        self.heights = [object_height(f.obj) for f in frames]
        margin = config.search_min * scale
        self.zones = [search_zone(f.obj, f.user, self._radius(hgt), margin) for f, hgt in zip(frames, self.heights)]
        self.to_ref = self._camera_motion()
        self.still = align.is_still(self.to_ref, self.size)
        self.canvas = self.size  # the reference frame, widened to hold every frame of the window
        if self.still:
            self.to_ref = [align.IDENTITY] * len(frames)
        else:
            self.to_ref, self.canvas = align.to_canvas(self.to_ref, self.size)
        self.stack, self.outside = self._aligned_stack()
        self.moving = self._object_moves()
        self.min_samples = max(3, len(frames) // 5)
        # Reference pixels the window sees often enough; where they are not "known" after leaving the
        # object out, the object (or its effect) hid them: only there may spatial cues stand in.
        self.in_view = (len(frames) - np.sum(self.outside, axis=0)) >= self.min_samples
        self.centres = [self._object_centre(i) for i in range(len(frames))]

    # -- 1. camera motion -------------------------------------------------------------------------
    def _camera_motion(self) -> list[np.ndarray]:
        """Track every frame directly to the middle one, walking outwards from it so that each
        frame starts from its neighbour's motion: no error builds up along a chain."""
        greys = [cv2.cvtColor(f.image, cv2.COLOR_RGB2GRAY) for f in self.frames]
        ref = len(greys) // 2
        out = [align.IDENTITY] * len(greys)
        for order in (range(ref + 1, len(greys)), range(ref - 1, -1, -1)):
            guess = None
            for i in order:
                usable = ~(self.blocked[ref] | self.blocked[i])
                out[i] = guess = align.frame_motion(greys[ref], greys[i], usable, guess)
        return out

    def _aligned_stack(self) -> tuple[np.ndarray, list[np.ndarray]]:
        if self.still:
            off = np.zeros(self.frames[0].obj.shape, bool)
            return np.stack([f.image for f in self.frames]), [off] * len(self.frames)
        images, outside = [], []
        for f, h in zip(self.frames, self.to_ref):
            images.append(align.warp(f.image, h, self.canvas))
            outside.append(~align.coverage(h, self.canvas, source_size=self.size))
        return np.stack(images), outside

    def _radius(self, height: int) -> float:
        cfg = self.config
        return max(cfg.search_min * self.scale, cfg.search_radius * height) if height else 0.0

    def _to_ref(self, mask: np.ndarray, i: int) -> np.ndarray:
        return mask if self.still else align.warp_mask(mask, self.to_ref[i], self.canvas)

    def _from_ref(self, image: np.ndarray, i: int, nearest: bool = False) -> np.ndarray:
        if self.still:
            return image
        return align.warp(image, self.to_ref[i], self.size, inverse=True, nearest=nearest)

    def _mask_from_ref(self, mask: np.ndarray, i: int) -> np.ndarray:
        if self.still:
            return mask
        back = self._from_ref(mask.astype(np.uint8), i, nearest=True).astype(bool)
        return back & align.coverage(self.to_ref[i], self.size, inverse=True, source_size=self.canvas)

    def _object_centre(self, i: int) -> np.ndarray:
        """Centroid ``(x, y)`` of the object in reference coordinates (the frame centre when absent)."""
        ys, xs = np.nonzero(self.frames[i].obj)
        if len(xs) == 0:
            return np.float64([np.nan, np.nan])
        point = np.float32([[[xs.mean(), ys.mean()]]])
        return cv2.perspectiveTransform(point, self.to_ref[i]).reshape(2).astype(np.float64)

    def _object_moves(self) -> bool:
        objs = [self._to_ref(f.obj, i) for i, f in enumerate(self.frames)]
        mean_area = np.mean([o.sum() for o in objs])
        return bool(mean_area > 0 and np.logical_or.reduce(objs).sum() >= STATIC_GROWTH * mean_area)

    # -- 2. background ----------------------------------------------------------------------------
    def background(self, side: list[np.ndarray] | None = None, first: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Median of the aligned frames, leaving out the object (and ``side``, per frame).

        Computed only where some frame looks for side effects; with ``side`` and the ``first``
        estimate, only where a side mask changes what is left out.
        """
        w, h = self.canvas
        if side is None:
            median, known = np.zeros((h, w, 3), np.float32), np.zeros((h, w), bool)
            wanted = np.logical_or.reduce([self._to_ref(z, i) for i, z in enumerate(self.zones)])
        else:
            median, known = first[0].copy(), first[1].copy()
            side = [_grow(m, 2) for m in side]
            wanted = np.logical_or.reduce([self._to_ref(m, i) for i, m in enumerate(side)])
        if not wanted.any():
            return median, known
        y0, y1, x0, x1 = _box(wanted, pad=4)
        crop = np.s_[y0:y1, x0:x1]
        excluded = []
        for i, blocked in enumerate(self.blocked):
            if side is not None:
                blocked = blocked | side[i]
            excluded.append((self._to_ref(blocked, i) | self.outside[i])[crop])
        values, enough = masked_median(self.stack[:, y0:y1, x0:x1], np.stack(excluded), self.min_samples)
        median[crop] = values
        known[crop] = enough
        return median, known

    # -- 3. evidence ------------------------------------------------------------------------------
    def evidence(self, i: int, background: np.ndarray, known_ref: np.ndarray, spatial: bool,
                 support: np.ndarray | None = None) -> Evidence | None:
        """Evidence of side effects in frame ``i``, inside the box around its search zone (None: no zone).

        With ``support`` (see :meth:`support`), regions the neighbouring frames do not confirm are dropped.
        """
        cfg = self.config
        f = self.frames[i]
        height, zone = self.heights[i], self.zones[i]
        if not zone.any():
            return None
        hidden = self._mask_from_ref(self.in_view & ~known_ref, i)
        if spatial and cfg.spatial and height:
            contact = contact_zone(f.obj, cfg.contact_reach * height) & zone
            spatial = bool(((hidden | (not self.moving)) & contact).any())
        else:
            spatial = False
        sigma = max(2.0, 0.25 * height)
        box = _box(zone, pad=int(3 * NOISE_SIGMA + 2 + (2 * sigma if spatial else 0)))
        crop = np.s_[box[0]:box[1], box[2]:box[3]]
        obj, user, zone, hidden = f.obj[crop], f.user[crop], zone[crop], hidden[crop]
        raw = f.image[crop].astype(np.float32)
        frame = _blur(raw)
        raw_bg = self._from_ref(background, i)[crop]
        known = self._mask_from_ref(known_ref, i)[crop]
        bg = masked_blur(raw_bg, known, NOISE_SIGMA)[0]
        near_obj = _grow(obj, OBJECT_MARGIN)
        zone &= ~near_obj
        usable = known & ~near_obj
        min_area = cfg.min_area * max(int(f.obj.sum()), 1)

        # Temporal cues: against the background, anywhere in the search zone. Under camera motion,
        # regions must beat the background's local range (darker than its darkest neighbour,
        # brighter than its brightest), which alignment errors at texture edges cannot; they then
        # take in a narrow fringe from the plain comparison, where the faint edge of a shadow is.
        ratio, change = compare(frame, bg)
        kept = chroma_kept(change, cfg)
        region, source = mirror_region(obj) if cfg.reflections else (np.zeros_like(obj), None)
        # An object that stays put never uncovers its own effects: whatever changes around it over
        # time (ripples, passers-by, clouds) is not its doing.
        where = (zone & usable) * self.moving
        evidence = self._temporal_cues(frame, bg, bg, bg, ratio, ratio, kept, region) * where
        if self.still:
            seeds = evidence
        else:
            lo, hi = cv2.erode(bg, ENVELOPE), cv2.dilate(bg, ENVELOPE)
            seeds = self._temporal_cues(frame, bg, lo, hi, luminance_ratio(frame, lo), luminance_ratio(frame, hi),
                                        kept, region) * where
        if self.still:
            found = grow_regions(evidence, min_area)
        else:
            found = grow_fringe(grow_regions(seeds, min_area), evidence, FRINGE)
        if support is not None:
            found = keep_persistent(found, support[crop], PERSIST_LEVEL)
        confidence = kept * usable
        shade_bg = raw_bg

        # Spatial cues: only next to the object's base (contact shadows) and in its mirror image,
        # where time shows nothing: the object stays put, or the point is never seen unaffected.
        if spatial:
            need = (hidden | (not self.moving)) & zone & ~user & (
                contact_zone(obj, cfg.contact_reach * height) | region)
            sbg, sknown = spatial_background(frame, ~near_obj & ~user, sigma, cfg)
            need &= sknown
            if need.any():
                sratio, schange = compare(frame, sbg)
                skept = chroma_kept(schange, cfg)
                spread = surface_spread(frame, sbg, sknown & zone & ~need)
                flat = spread * SPREAD_MARGIN < cfg.dark_strong  # else the ground's own texture would fool it
                scues = [shadow_evidence(sratio, skept, cfg) * (cfg.shadows and flat)]
                if source is not None:
                    scues.append(symmetry_evidence(frame, obj, region, source, cfg))
                sevidence = np.maximum.reduce(scues) * need
                sfound = grow_regions(sevidence, min_area, touch=near_obj)
                evidence = np.where(need, sevidence, evidence)
                found = np.where(need, sfound, found)
                confidence = np.where(need, skept * sfound, confidence)
                shade_bg = np.where(need[..., None], sbg, raw_bg)
                usable = usable | need
        return Evidence(box, raw, obj, user, evidence, found, confidence, shade_bg, usable)

    def support(self, i: int, side: list[np.ndarray]) -> np.ndarray:
        """Share ``(H, W)`` float32 of the neighbouring frames whose side-effect mask, carried into
        frame ``i`` by the camera motion and the object's own motion, covers each pixel."""
        h, w = self.frames[i].obj.shape
        neighbours = [j for j in range(i - PERSIST_FRAMES, i + PERSIST_FRAMES + 1) if j != i and 0 <= j < len(side)]
        if not neighbours:
            return np.ones((h, w), np.float32)
        tolerance = _disk(max(1, int(0.1 * self.heights[i])))
        total = np.zeros((h, w), np.float32)
        for j in neighbours:
            move = np.linalg.inv(self.to_ref[i]) @ _translation(self.centres[i] - self.centres[j]) @ self.to_ref[j]
            carried = align.warp_mask(side[j], move, self.size)
            total += cv2.dilate(carried.astype(np.uint8), tolerance)
        return total / len(neighbours)

    def _temporal_cues(self, frame, bg, lo, hi, dark_ratio, bright_ratio, kept, region) -> np.ndarray:
        """The strongest of the shadow, light and reflection evidence against the background."""
        cfg = self.config
        cues = [shadow_evidence(dark_ratio, kept, cfg) * cfg.shadows,
                light_evidence(bright_ratio, kept, cfg) * cfg.lights,
                change_evidence(frame, lo, hi, cfg) * region * cfg.reflections]
        return np.maximum.reduce(cues)

    def side_mask(self, i: int, background: np.ndarray, known: np.ndarray) -> np.ndarray:
        """Full-frame bool mask of the regions found in frame ``i`` by the temporal cues alone."""
        out = np.zeros(self.frames[i].obj.shape, bool)
        ev = self.evidence(i, background, known, spatial=False)
        if ev is not None:
            y0, y1, x0, x1 = ev.box
            out[y0:y1, x0:x1] = ev.found
        return out

    # -- 4-5. regions, soft mask, relighting --------------------------------------------------------
    def estimate(self, i: int, background: np.ndarray, known: np.ndarray, support: np.ndarray | None) -> FrameEstimate:
        cfg = self.config
        ev = self.evidence(i, background, known, spatial=True, support=support)
        if ev is None:
            return FrameEstimate.empty()
        soft = np.where(ev.found, ev.evidence, 0.0).astype(np.float32)
        soft = cv2.morphologyEx(soft, cv2.MORPH_CLOSE, _disk(2)) * ~ev.obj
        soft = np.maximum(soft, ev.user.astype(np.float32)).astype(np.float16).astype(np.float32)  # as stored
        if not soft.any():
            return FrameEstimate.empty()
        h, w = self.frames[i].obj.shape
        kept, capped = cap_region(soft, (soft >= cfg.threshold) & ~ev.obj, ev.obj, int(cfg.max_fraction * h * w))
        if capped:
            soft = np.where(kept, soft, np.minimum(soft, np.float32(np.nextafter(np.float16(cfg.threshold), 0))))
        if cfg.relight:
            shading = estimate_shading(ev.frame, ev.shade_bg, ev.usable, SHADING_SIGMA)
            # Only where this frame shows evidence of its own: a user's AFFECTED region without any
            # is left as it is, for the engine to fill.
            confidence = ev.confidence * _grow(ev.found, 1)
            gain = relight_gain(shading, cv2.GaussianBlur(confidence, (0, 0), NOISE_SIGMA))
        else:
            gain = np.ones(soft.shape + (3,), np.float32)
        y0, y1, x0, x1 = _box(soft > 0, pad=1)
        Y0, _, X0, _ = ev.box
        box = (Y0 + y0, Y0 + y1, X0 + x0, X0 + x1)
        return FrameEstimate(box, soft[y0:y1, x0:x1].astype(np.float16),
                             gain[y0:y1, x0:x1].astype(np.float16), capped)


def analyse_window(frames: list[WorkFrame], lo: int, hi: int, config: SideEffectConfig,
                   scale: float) -> list[FrameEstimate]:
    """Estimates for ``frames[lo:hi]``, using the whole window as temporal context."""
    win = WindowAnalysis(frames, config, scale)
    background, known = win.background()
    side = [win.side_mask(i, background, known) for i in range(len(frames))]
    if config.refine_background:
        background, known = win.background(side, first=(background, known))
    estimates = [win.estimate(i, background, known, win.support(i, side)) for i in range(lo, hi)]
    capped = sum(e.capped for e in estimates)
    if capped:
        log.warning("side effects: the estimate covered more than %.0f%% of the frame in %d frame(s); "
                    "kept only its strongest part (raise max_fraction, or give the AFFECTED region in a "
                    "quadmask)", 100 * config.max_fraction, capped)
    return estimates
