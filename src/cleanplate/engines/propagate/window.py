"""Complete the unfinished frames of one window: the algorithm's steps, in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ... import quadmask
from .boundary import correct_colours, ring_pixels, usable_sources
from .compose import blend_candidates, sample_sources
from .config import PropagateConfig
from .flow import Scale, to_working_grey, to_working_hole
from .propagation import PairFlow, chained_homographies, far_sources, trace
from .spatial import fill_unseen


@dataclass
class FrameState:
    """One frame held in the window."""

    image: np.ndarray  # (H, W, 3) uint8 RGB: the input frame; once finished, its completed version
    quad: np.ndarray  # (H, W) uint8 quadmask the engine was given
    grey: np.ndarray  # (h, w) uint8 working-size grey input, for flow
    hole: np.ndarray  # (h, w) bool working-size hole grown by flow_margin, where flow is completed
    known: np.ndarray  # (H, W) bool: pixels usable as sources (KEEP, off the hole's edge; all once finished)
    finished: bool = False

    @classmethod
    def new(cls, frame: np.ndarray, quad: np.ndarray, scale: Scale, config: PropagateConfig) -> "FrameState":
        hole = quadmask.hole(quad)
        return cls(frame, quad, to_working_grey(frame, scale.work), to_working_hole(hole, scale.work, config.flow_margin),
                   usable_sources(hole, config.source_margin))

    def finish(self, output: np.ndarray) -> None:
        """Become a known source: later windows sample its completed pixels as they were output."""
        self.image = output
        self.known = np.ones_like(self.known)
        self.finished = True


def _to_uint8(colours: np.ndarray) -> np.ndarray:
    return np.clip(colours + 0.5, 0, 255).astype(np.uint8)


def solve_window(states: Sequence[FrameState], flows: Sequence[PairFlow], first: int, count: int,
                 scale: Scale, config: PropagateConfig) -> list[np.ndarray]:
    """Completed frames ``first .. first+count-1`` of the window ``states`` (flows between consecutive states)."""
    n = len(states)
    targets = range(first, first + count)
    known = [s.known for s in states]
    images = [s.image for s in states]
    # Traced: every pixel that is not a source. For the frames to finish: the hole's pixels first,
    # then the margin at its edge (kept as it is), then a ring of sources beyond it (to match colours).
    traced = [np.flatnonzero(~k) for k in known]
    pixels, rings = {}, {}
    for i in targets:
        in_hole = quadmask.hole(states[i].quad).ravel()[traced[i]]
        pixels[i] = traced[i][in_hole]
        rings[i] = ring_pixels(known[i], traced[i]) if config.colour_correction else traced[i][:0]
        traced[i] = np.concatenate([pixels[i], traced[i][~in_hole], rings[i]])

    # 1. Trace every unknown pixel back and forward in time to where it is seen.
    past = trace(known, traced, flows, scale, True, config.consistency, frames=range(0, first + count))
    future = trace(known, traced, flows, scale, False, config.consistency, frames=range(n - 1, first - 1, -1))
    chain = chained_homographies(flows, scale) if config.far_references else None

    fills: dict[int, np.ndarray] = {}
    found: dict[int, np.ndarray] = {}
    unseen: dict[int, np.ndarray] = {}
    for i in targets:
        if not len(pixels[i]):
            continue
        # 2. Blend the two candidates by temporal distance.
        colours, hit = blend_candidates(images, i, [past[i], future[i]], config.blend_power)
        m, r = len(pixels[i]), len(traced[i]) - len(rings[i])
        colours, hit, ring_colours, ring_hit = colours[:m], hit[:m], colours[r:], hit[r:]
        # 3. Far frames of the window, aligned by homography, for pixels no chain reached.
        if chain is not None and not hit.all():
            rows = np.flatnonzero(~hit)
            far = far_sources(known, chain, i, pixels[i][rows], config.far_references)
            rows, got = rows[far.found()], far.found()
            colours[rows] = sample_sources(images, far.frame[got], far.x[got], far.y[got])
            hit[rows] = True
        # 4. Match the colour at the boundary (exposure, white balance of the source frames).
        if config.colour_correction and len(rings[i]) and hit.any():
            colours[hit] = correct_colours(images[i], pixels[i][hit], colours[hit], rings[i], ring_colours, ring_hit)
        # 5. AFFECTED pixels never seen as KEEP stay as they are; object pixels never seen wait for step 6.
        missing = np.flatnonzero(~hit)
        is_object = quadmask.object_region(states[i].quad).ravel()[pixels[i][missing]]
        keep = missing[~is_object]
        colours[keep] = images[i].reshape(-1, 3)[pixels[i][keep]]
        hit[keep] = True
        fills[i], found[i], unseen[i] = colours, hit, missing[is_object]

    # 6. Never-seen object pixels: inpaint one reference frame, carry its fill along the flow.
    def compose(i: int) -> np.ndarray:
        out = images[i].copy()
        out.reshape(-1, 3)[pixels[i][found[i]]] = _to_uint8(fills[i][found[i]])
        return out

    if any(len(rows) for rows in unseen.values()):
        spots = {i: pixels[i][rows] for i, rows in unseen.items()}
        margins = {i: traced[i][len(pixels[i]):len(traced[i]) - len(rings[i])] for i in unseen}
        colours = fill_unseen(compose, spots, margins, flows, scale, config.spatial, config.spatial_radius)
        for i, rows in unseen.items():
            fills[i][rows] = colours[i]

    outputs = []
    for i in targets:
        if i not in fills:
            outputs.append(images[i])
            continue
        out = images[i].copy()
        out.reshape(-1, 3)[pixels[i]] = _to_uint8(fills[i])
        outputs.append(out)
    return outputs
