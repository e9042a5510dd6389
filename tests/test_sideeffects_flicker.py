"""A shadow the neighbouring frames agree on is kept in a frame where it is too faint to be found alone."""

import numpy as np

from cleanplate import quadmask
from cleanplate.clip import Clip
from cleanplate.sideeffects import add_side_effects

from sidefx_clips import make_shadow_clip

FAINT = 8  # the frame where a passing cloud makes the shadow faint


def _affected(video, masks):
    quad = np.where(masks, quadmask.REMOVE, quadmask.KEEP).astype(np.uint8)
    return np.stack([q == quadmask.AFFECTED for _, q in add_side_effects(Clip.from_arrays(video, quad, fps=25)).pairs()])


def test_a_faint_frame_keeps_the_shadow_its_neighbours_found():
    strong = make_shadow_clip(seed=3, strength=0.5)
    faint = make_shadow_clip(seed=3, strength=0.12)  # darkens by 12% at most: no seed of its own
    video = strong.video.copy()
    video[FAINT] = faint.video[FAINT]
    affected = _affected(video, strong.masks)
    side = faint.side[FAINT]
    assert affected[FAINT - 1].any() and affected[FAINT + 1].any()
    assert (affected[FAINT] & side).sum() > 0.5 * side.sum()
    assert (affected[FAINT] & ~side).sum() < 0.1 * side.sum()


def test_a_faint_shadow_in_every_frame_is_not_found():
    """Nothing seeds it anywhere: the neighbours have nothing to agree on."""
    faint = make_shadow_clip(seed=3, strength=0.12)
    assert not _affected(faint.video, faint.masks).any()


def test_fill_from_neighbours_needs_support_evidence_and_area():
    from cleanplate.sideeffects.select import fill_from_neighbours

    evidence = np.zeros((20, 30), np.float32)
    evidence[4:12, 4:12] = 0.3  # the region the neighbours found, seen faintly here
    evidence[4:12, 20:28] = 0.3  # as faint, but no neighbour found anything there
    support = np.zeros((20, 30), np.float32)
    support[4:12, 4:12] = 0.75
    excluded = np.zeros((20, 30), bool)
    none = np.zeros((20, 30), bool)
    filled = fill_from_neighbours(none, evidence, support, excluded, level=0.5, min_area=10)
    assert filled[4:12, 4:12].all() and filled.sum() == 64
    assert not fill_from_neighbours(none, evidence, support * 0.5, excluded, 0.5, 10).any()  # too few agree
    assert not fill_from_neighbours(none, evidence, support, excluded, 0.5, 65).any()  # too small
    excluded[4:12, 8:12] = True  # misaligned texture there
    assert fill_from_neighbours(none, evidence, support, excluded, 0.5, 10).sum() == 32
