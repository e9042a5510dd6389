"""Estimate the side effects in one window of frames, at working resolution.

For a window of frames (object masks given), in numbered steps:

1. camera motion onto the window's middle frame, and a temporal background: the median of the
   aligned frames outside the object (:mod:`.window`);
2. per frame, evidence of a shadow or light (:mod:`.shadows`) and of a reflection
   (:mod:`.reflections`) against that background, near the object only; where time gives no evidence
   (the object hardly moves, or the point is never seen unaffected) the spatial cues stand in: the
   lit surroundings and mirror symmetry;
3. regions grown from clear evidence and confirmed by the neighbouring frames (:mod:`.select`);
   with ``refine_background`` the background is estimated again without them;
4. a soft mask (``>= threshold`` is AFFECTED; capped to ``max_fraction`` of the frame) and a relighting
   gain (:mod:`.relight`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Callable

import cv2
import numpy as np

from .config import SideEffectConfig
from .reflections import change_evidence, mirror_region, symmetry_evidence
from .relight import estimate_shading, relight_gain
from .select import (cap_region, drop_mixed, contact_zone, fill_from_neighbours, grow_fringe, grow_regions, keep_persistent,
                     mixed_pixels, search_zone)
from .shadows import (chroma_kept, compare, luminance, ramp, light_evidence, masked_blur, ratio_of, shadow_evidence,
                      spatial_background, surface_spread)
from .lamp import FRAMES as LAMP_FRAMES, StillLamp, fit_still_lamp, still_lamp_evidence
from .tinted import lamp_evidence, window_far_background
from .window import OBJECT_MARGIN, AlignedWindow, WorkFrame, box_of, disk, grow

log = logging.getLogger(__name__)

NOISE_SIGMA = 1.0  # pre-blur of frames and background before comparing them (working pixels)
SHADING_SIGMA = 1.0  # smoothing of the per-pixel shading ratio (working pixels)
SPREAD_MARGIN = 2.0  # a spatial shadow must darken the ground this many times its texture's spread
ENVELOPE = np.ones((3, 3), np.uint8)  # under camera motion, compare with the range of the background nearby
FRINGE = 3  # working pixels of plain-comparison evidence added around regions found under camera motion
MIX_REACH = 2  # working pixels: darkening this close to brightening (and the reverse) is mixed ...
MIXED_MAX = 0.3  # ... and a region with more than this share of it is misaligned texture
SPREAD_K = 1.0  # ... and its clear evidence must beat the aligned samples' scatter by this many standard deviations
DARK_LO, DARK_HI = 8.0, 16.0  # light on a background darker than this (0-255) is a ratio of noise: no evidence
RELIGHT_MARGIN = 8  # working pixels around the kept crop that relighting reads (its blurs reach 4, the growth 1)
PERSIST_FRAMES = 2  # a region must be found again in the frames this close ...
PERSIST_LEVEL = 0.5  # ... in this share of them, at the same place relative to the object

__all__ = ["FrameEstimate", "WorkFrame", "analyse_window"]


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


@dataclasses.dataclass
class Support:
    """What the neighbouring frames found, carried into one frame: the share ``(H, W)`` float32 of
    them whose side-effect mask covers each pixel (see :meth:`WindowAnalysis.support`)."""

    near: np.ndarray  # within a tolerance for the object's motion: what a region must overlap to be kept
    exact: np.ndarray  # where the masks fall: where this frame's own weak evidence is taken in


@dataclasses.dataclass
class _Temporal:
    """The temporal cues of one frame, before persistence and the spatial cues (crops of ``box``)."""

    box: tuple[int, int, int, int]
    raw: np.ndarray  # (h, w, 3) float32: the frame as it is
    frame: np.ndarray  # (h, w, 3) float32: denoised
    obj: np.ndarray
    user: np.ndarray
    zone: np.ndarray  # the search zone, less the object's margin
    hidden: np.ndarray  # never seen unaffected in this window
    near_obj: np.ndarray
    usable: np.ndarray
    evidence: np.ndarray
    found: np.ndarray
    kept: np.ndarray  # chromaticity kept against the background
    mixed: np.ndarray  # darker next to brighter, or the reverse: misaligned texture (see :func:`.select.mixed_pixels`)
    raw_bg: np.ndarray
    region: np.ndarray  # the object's mirror image
    source: np.ndarray | None
    lamp: np.ndarray | None  # found by the moving lamp's cue (:mod:`.tinted`) ...
    lamp_bg: np.ndarray | None  # ... against this far-view background (float32 RGB)
    min_area: float
    height: int
    sigma: float | None  # the spatial cues' blur; None where they cannot apply in this frame


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), NOISE_SIGMA)


class WindowAnalysis(AlignedWindow):
    """The background of one window and the evidence of every frame in it."""

    def __init__(self, frames: list[WorkFrame], config: SideEffectConfig, scale: float):
        super().__init__(frames)
        self.config = config
        self.scale = scale
        margin = config.search_min * scale
        self._temporal: dict[tuple[int, int, int], _Temporal | None] = {}
        self.dim: np.ndarray | None = None  # the far-view background (canvas; None: no lamp can be there), set by analyse_window
        self.still_lamp: StillLamp | None = None  # the light of a lamp that stays put (:mod:`.lamp`), set by analyse_window
        self.zones = [search_zone(f.obj, f.user, self._radius(hgt), margin) for f, hgt in zip(frames, self.heights)]

    def _radius(self, height: int) -> float:
        cfg = self.config
        return max(cfg.search_min * self.scale, cfg.search_radius * height) if height else 0.0

    # -- 3. evidence ------------------------------------------------------------------------------
    def evidence(self, i: int, background: np.ndarray, known_ref: np.ndarray, spatial: bool,
                 support: Support | None = None) -> Evidence | None:
        """Evidence of side effects in frame ``i``, inside the box around its search zone (None: no zone).

        With ``support`` (see :meth:`support`), regions the neighbouring frames do not confirm are dropped,
        and what most of them found is kept where this frame shows evidence of it.
        The temporal part is computed once per frame and background: the first guess (:meth:`side_mask`)
        and the estimate share it.
        """
        key = (i, id(background), id(known_ref))
        if key not in self._temporal:
            self._temporal[key] = self._temporal_evidence(i, background, known_ref)
        part = self._temporal.pop(key) if spatial else self._temporal[key]
        if part is None:
            return None
        return self._finish(part, spatial, support)

    def forget(self) -> None:
        """Drop the cached temporal evidence (before the background changes)."""
        self._temporal.clear()

    def _temporal_evidence(self, i: int, background: np.ndarray, known_ref: np.ndarray) -> _Temporal | None:
        cfg = self.config
        f = self.frames[i]
        height, zone = self.heights[i], self.zones[i]
        if not zone.any():
            return None
        # Everything below is read inside a box around the search zone (the widest one first).
        sigma = max(2.0, 0.25 * height)
        wide = box_of(zone, pad=int(3 * NOISE_SIGMA + 2 + 2 * sigma))
        hidden = self.mask_from_ref(self.in_view & ~known_ref, i, wide)
        if cfg.spatial and height:
            near = np.s_[wide[0]:wide[1], wide[2]:wide[3]]
            contact = contact_zone(f.obj[near], cfg.contact_reach * height) & zone[near]
            spatial = bool(((hidden | (not self.moving)) & contact).any())
        else:
            spatial = False
        box = box_of(zone, pad=int(3 * NOISE_SIGMA + 2 + (2 * sigma if spatial else 0)))
        crop = np.s_[box[0]:box[1], box[2]:box[3]]
        hidden = hidden[box[0] - wide[0]:box[1] - wide[0], box[2] - wide[2]:box[3] - wide[2]]
        obj, user, zone = f.obj[crop], f.user[crop], zone[crop]
        raw = f.image[crop].astype(np.float32)
        frame = _blur(raw)
        raw_bg = self.from_ref(background, i, box)
        known = self.mask_from_ref(known_ref, i, box)
        bg = masked_blur(raw_bg, known, NOISE_SIGMA)[0]
        near_obj = grow(obj, OBJECT_MARGIN)
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
            # (the frame's luminance and the brightest neighbour's are taken once for these cues and the scatter's)
            lum, lum_hi = luminance(frame), luminance(hi)
            lit_hi = ramp(lum_hi, DARK_LO, DARK_HI)
            seeds = self._temporal_cues(frame, bg, lo, hi, ratio_of(lum, luminance(lo)), ratio_of(lum, lum_hi),
                                        kept, region, lit_hi) * where
        if self.still:
            found = grow_regions(evidence, min_area)
        else:
            found = grow_fringe(grow_regions(seeds, min_area), evidence, FRINGE)
        # In the mirror image a reflection may darken and brighten side by side: it is exempt.
        mixed = mixed_pixels((shadow_evidence(ratio, kept, cfg) > 0) & ~region,
                             (light_evidence(ratio, kept, cfg) > 0) & ~region, MIX_REACH)
        if found.any():
            found = drop_mixed(found, mixed, MIXED_MAX)
        if found.any() and not self.still:
            # Of what is left, only the parts grown from evidence that also beats the scatter of the
            # aligned samples about the background (and their fringe): where a layer is not aligned
            # (parallax), any frame differs from the median by as much as those samples do.
            scatter = SPREAD_K * self.from_ref(self.spread, i, box)[..., None]
            clear = self._temporal_cues(frame, bg, lo, hi, ratio_of(lum, luminance(np.maximum(lo - scatter, 0))),
                                        ratio_of(lum, luminance(hi + scatter)), kept, region, lit_hi) * where
            found &= grow_fringe(grow_regions(clear, min_area), evidence, FRINGE)
        # A moving lamp lights each point for most of the window, so the median is lit too: its
        # light is looked for against the far view instead (:mod:`.tinted`; compared with its brightest
        # neighbour, so misalignment at texture edges cannot pass). None: no frame of the window can show it.
        lamp = lamp_bg = None
        if self.dim is not None and self.moving:
            dim_raw = self.from_ref(self.dim, i, box)
            dim = masked_blur(dim_raw, known, NOISE_SIGMA)[0]
            lamp_ev, lamp_bg = lamp_evidence(frame, dim, obj, zone, usable, height, cfg)
            if lamp_bg is not None:
                lamp = grow_regions(lamp_ev, min_area) & ~region
                lamp_bg = dim_raw
                evidence = np.maximum(evidence, lamp_ev * lamp)
                found = found | lamp
        # A lamp that stays put lights its surroundings in every frame: its light is the gain fitted
        # from the surroundings (:mod:`.lamp`), the unlit surface the frame divided by it.
        # Only on what stays put in the window: a nearer thing sliding across the lit ground under a
        # pan (a pole) is not lit the same, and differs from the background by more than the lamp's gain.
        if self.still_lamp is not None and not self.moving:
            if self.still:
                off = np.abs(frame - bg).max(axis=-1)
            else:
                off = np.maximum(np.maximum(lo - frame, frame - hi), 0).max(axis=-1)
            steady = off < cfg.change_weak
            lamp_ev, lamp_bg = still_lamp_evidence(self.still_lamp, raw, obj, zone & usable & steady, height, cfg)
            lamp = grow_regions(lamp_ev, min_area)
            evidence = np.maximum(evidence, lamp_ev * lamp)
            found = found | lamp
        return _Temporal(box, raw, frame, obj, user, zone, hidden, near_obj, usable, evidence, found, kept, mixed,
                         raw_bg, region, source, lamp, lamp_bg, min_area, height, sigma if spatial else None)

    def _finish(self, t: "_Temporal", spatial: bool, support: Support | None) -> Evidence:
        """Persistence, then (with ``spatial``, where the frame allows it) the spatial cues."""
        cfg = self.config
        box, frame, obj, user, zone, hidden, near_obj = t.box, t.frame, t.obj, t.user, t.zone, t.hidden, t.near_obj
        usable, evidence, found, region, source, min_area = t.usable, t.evidence, t.found, t.region, t.source, t.min_area
        raw_bg, sigma = t.raw_bg, t.sigma
        height = t.height
        if support is not None:
            crop = np.s_[box[0]:box[1], box[2]:box[3]]
            found = keep_persistent(found, support.near[crop], PERSIST_LEVEL)
            # A frame whose own regions were dropped (joined to misaligned texture nearby, or too faint
            # to seed one) keeps what most of its neighbours found, where it shows evidence of it.
            found = fill_from_neighbours(found, evidence, support.exact[crop], t.mixed, PERSIST_LEVEL, min_area)
        confidence = t.kept * usable
        shade_bg = raw_bg
        if t.lamp is not None:  # a lamp's light changes the colour: its own background, full confidence
            confidence = np.where(t.lamp, usable.astype(np.float32), confidence)
            shade_bg = np.where(t.lamp[..., None], t.lamp_bg, raw_bg)
        spatial = spatial and sigma is not None

        # Spatial cues: only next to the object's base (contact shadows) and in its mirror image,
        # where time shows nothing: the object stays put, or the point is never seen unaffected.
        if spatial:
            need = (hidden | (not self.moving)) & zone & ~user & (
                contact_zone(obj, cfg.contact_reach * height) | region)
            if t.lamp is not None and not self.moving:  # a still lamp's light is not a contact shadow
                need &= ~t.lamp
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
                # (a still lamp's unlit surface stays where it was found; a moving lamp's is not kept
                # here, as before)
                shade_bg = np.where(need[..., None], sbg, raw_bg if self.moving else shade_bg)
                usable = usable | need
        return Evidence(box, t.raw, obj, user, evidence, found, confidence, shade_bg, usable)

    def support(self, i: int, side: list[np.ndarray]) -> Support | None:
        """The share of the neighbouring frames whose side-effect mask, carried into frame ``i`` by the
        camera motion and the object's own motion, covers each pixel (None: no neighbours)."""
        h, w = self.frames[i].obj.shape
        neighbours = [j for j in range(i - PERSIST_FRAMES, i + PERSIST_FRAMES + 1) if j != i and 0 <= j < len(side)]
        if not neighbours:
            return None
        reach = max(1, int(0.1 * self.heights[i]))
        tolerance = disk(reach)
        near = np.zeros((h, w), np.float32)
        exact = np.zeros((h, w), np.float32)
        for j in neighbours:
            if not side[j].any():  # carried, nothing: adds nothing
                continue
            carried = self.carry(side[j], j, i)
            if not carried.any():
                continue
            # The dilation reaches ``reach`` pixels: done on the carried mask's box alone, it is the same.
            y0, y1, x0, x1 = box_of(carried, pad=reach)
            box = np.s_[y0:y1, x0:x1]
            carried = carried[box].astype(np.uint8)
            near[box] += cv2.dilate(carried, tolerance)
            exact[box] += carried
        return Support(near / len(neighbours), exact / len(neighbours))

    def _temporal_cues(self, frame, bg, lo, hi, dark_ratio, bright_ratio, kept, region, lit=None) -> np.ndarray:
        """The strongest of the shadow, light and reflection evidence against the background
        (``lit``: ``ramp(luminance(hi), DARK_LO, DARK_HI)``, when the caller has it)."""
        cfg = self.config
        if lit is None:
            lit = ramp(luminance(hi), DARK_LO, DARK_HI)
        cues = [shadow_evidence(dark_ratio, kept, cfg) * cfg.shadows,
                light_evidence(bright_ratio, kept, cfg) * lit * cfg.lights]
        if cfg.reflections and region.any():  # only inside the mirror image: computed on its box alone
            y0, y1, x0, x1 = box_of(region, pad=0)
            b = np.s_[y0:y1, x0:x1]
            change = np.zeros(region.shape, np.float32)
            change[b] = change_evidence(frame[b], lo[b], hi[b], cfg) * region[b]
            cues.append(change)
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
    def estimate(self, i: int, background: np.ndarray, known: np.ndarray, support: Support | None) -> FrameEstimate:
        cfg = self.config
        ev = self.evidence(i, background, known, spatial=True, support=support)
        if ev is None:
            return FrameEstimate.empty()
        soft = np.where(ev.found, ev.evidence, 0.0).astype(np.float32)
        soft = cv2.morphologyEx(soft, cv2.MORPH_CLOSE, disk(2)) * ~ev.obj
        soft = np.maximum(soft, ev.user.astype(np.float32)).astype(np.float16).astype(np.float32)  # as stored
        if not soft.any():
            return FrameEstimate.empty()
        h, w = self.frames[i].obj.shape
        kept, capped = cap_region(soft, (soft >= cfg.threshold) & ~ev.obj, ev.obj, int(cfg.max_fraction * h * w))
        if capped:
            soft = np.where(kept, soft, np.minimum(soft, np.float32(np.nextafter(np.float16(cfg.threshold), 0))))
        y0, y1, x0, x1 = box_of(soft > 0, pad=1)
        if cfg.relight:
            # Only the kept crop, with a margin wide enough that the blurs below see what they would
            # on the whole search zone.
            c0, c1, d0, d1 = box_of(soft > 0, pad=1 + RELIGHT_MARGIN)
            c = np.s_[c0:c1, d0:d1]
            shading = estimate_shading(ev.frame[c], ev.shade_bg[c], ev.usable[c], SHADING_SIGMA)
            # Only where this frame shows evidence of its own: a user's AFFECTED region without any
            # is left as it is, for the engine to fill.
            confidence = ev.confidence[c] * grow(ev.found[c], 1)
            gain = relight_gain(shading, cv2.GaussianBlur(confidence, (0, 0), NOISE_SIGMA))
            gain = gain[y0 - c0:y1 - c0, x0 - d0:x1 - d0]
        else:
            gain = np.ones((y1 - y0, x1 - x0, 3), np.float32)
        Y0, _, X0, _ = ev.box
        box = (Y0 + y0, Y0 + y1, X0 + x0, X0 + x1)
        return FrameEstimate(box, soft[y0:y1, x0:x1].astype(np.float16), gain.astype(np.float16), capped)


def analyse_window(frames: list[WorkFrame], lo: int, hi: int, config: SideEffectConfig,
                   scale: float, publish: Callable[[FrameEstimate], None] | None = None) -> list[FrameEstimate]:
    """Estimates for ``frames[lo:hi]``, using the whole window as temporal context.

    ``publish`` is given each estimate as soon as it is made, in order (a reader can go on with the
    first frames while the rest are estimated).
    """
    win = WindowAnalysis(frames, config, scale)
    background, known = win.background(win.zones)
    if config.lights and win.moving:
        win.dim = window_far_background(win, win.zones, config)
    elif config.lights and config.still_lamps and win.still:  # a still shot: under camera motion nearer things slide across the light
        picks = [i for i in range(len(frames)) if win.heights[i]]
        picks = [picks[k] for k in np.unique(np.linspace(0, len(picks) - 1, LAMP_FRAMES).round().astype(int))] if picks else []
        win.still_lamp = fit_still_lamp([frames[i].image for i in picks], [frames[i].obj for i in picks])
    n = len(frames)
    side = [np.zeros(frames[0].obj.shape, bool)] * n
    if config.refine_background:  # the first guess is needed in every frame
        side = [win.side_mask(i, background, known) for i in range(n)]
        win.forget()
        background, known = win.background(win.zones, side, first=(background, known))
        done = n
    else:  # only in the frames that confirm the kept ones, each just before it is needed
        done = max(0, lo - PERSIST_FRAMES)
    estimates = []
    for i in range(lo, hi):
        while done < min(n, i + PERSIST_FRAMES + 1):
            side[done] = win.side_mask(done, background, known)
            done += 1
        estimates.append(win.estimate(i, background, known, win.support(i, side)))
        if publish is not None:
            publish(estimates[-1])
    win.forget()
    capped = sum(e.capped for e in estimates)
    if capped:
        log.warning("side effects: the estimate covered more than %.3g%% of the frame in %d frame(s); "
                    "kept only its strongest part (raise max_fraction, or give the AFFECTED region in a "
                    "quadmask)", 100 * config.max_fraction, capped)
    return estimates
