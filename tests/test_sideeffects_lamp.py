"""The moving lamp's light (:mod:`cleanplate.sideeffects.tinted`): a coloured brightening that the
temporal median does not show, found against the views farthest from the lamp."""

import numpy as np

from cleanplate import quadmask
from cleanplate.clip import Clip
from cleanplate.sideeffects import SideEffectConfig, add_side_effects
from cleanplate.sideeffects.shadows import chroma_kept, compare, light_evidence, luminance_ratio
from cleanplate.sideeffects.tinted import (far_background, lamp_ring, light_direction, log_ratio, surrounds,
                                          tinted_light_evidence)

from sidefx_clips import textured_ground

WARM = np.float32([1.0, 0.85, 0.55])  # the benchmark's warm lamp
ORANGE = np.float32([1.0, 0.7, 0.3])


def lamp_clip(frames: int = 20, h: int = 48, w: int = 80, seed: int = 0, gain: float = 0.8, reach: float = 16.0):
    """A small lamp crossing textured ground, lighting it warm all around itself (``1 + gain * glow * WARM``,
    a Gaussian glow of ``reach`` pixels). Returns ``(video, quadmasks, clean, glow)``."""
    ground = textured_ground(h, w, np.random.default_rng(seed))
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    video, masks, glows = [], [], []
    for t in range(frames):
        cx, cy = 6 + (w - 12) * t / (frames - 1), 0.5 * h
        glow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * reach ** 2))
        frame = np.clip(ground * (1 + gain * glow[..., None] * WARM), 0, 255)
        obj = (np.abs(xx - cx) <= 4) & (np.abs(yy - cy) <= 5)
        frame[obj] = (255, 230, 160)
        q = np.full((h, w), quadmask.KEEP, np.uint8)
        q[obj] = quadmask.REMOVE
        video.append((frame + 0.5).astype(np.uint8))
        masks.append(q)
        glows.append(glow * ~obj)
    clean = np.repeat((ground + 0.5).astype(np.uint8)[None], frames, axis=0)
    return np.stack(video), np.stack(masks), clean, np.stack(glows)


def psnr(a, b, region):
    diff = a.astype(np.float64)[region] - b.astype(np.float64)[region]
    return 10 * np.log10(255.0 ** 2 / max((diff ** 2).mean(), 1e-10))


def test_far_background_is_the_median_of_the_farthest_views_left_in():
    n = 7
    stack = np.full((n, 1, 1, 3), 200, np.uint8)
    stack[[0, 1, 2], 0, 0] = 100  # unlit in the three views farthest from the lamp
    stack[3, 0, 0] = 100
    stack[6, 0, 0] = 5  # the farthest view of all is under something dark ... but left out
    distance = np.float32([30, 25, 20, 19, 2, 1, 40])[:, None, None]
    excluded = np.zeros((n, 1, 1), bool)
    excluded[6] = True
    assert far_background(stack, excluded, distance, 3)[0, 0].tolist() == [100, 100, 100]
    stack[0, 0, 0] = 5  # one dark thing among the farthest three does not pass for the surface
    assert far_background(stack, excluded, distance, 3)[0, 0].tolist() == [100, 100, 100]
    excluded[6] = False  # two of three dark: then it does (the rank is what it is)
    assert far_background(stack, excluded, distance, 3)[0, 0].tolist() == [5, 5, 5]


def test_tinted_light_evidence_follows_the_lamp_colour_where_chroma_tol_refuses_it():
    cfg = SideEffectConfig()
    surface = textured_ground(32, 32, np.random.default_rng(1))
    lit = surface * (1 + 1.0 * ORANGE)  # a strong orange lamp: the colour changes
    ratio, change = compare(lit, surface)
    plain = light_evidence(ratio, chroma_kept(change, cfg), cfg)
    assert plain.mean() < 0.2  # the plain light cue keeps the chromaticity: it refuses the lamp
    v = log_ratio(lit, surface)
    direction = light_direction(v, np.ones((32, 32), bool), cfg)
    assert np.allclose(direction, np.log1p(ORANGE) / np.linalg.norm(np.log1p(ORANGE)), atol=0.02)
    assert tinted_light_evidence(v, direction, cfg).min() > 0.99
    cold = surface * (1 + 1.0 * ORANGE[::-1])  # as bright, another colour: not this lamp's light
    assert tinted_light_evidence(log_ratio(cold, surface), direction, cfg).max() == 0.0
    assert tinted_light_evidence(log_ratio(surface, surface), direction, cfg).max() == 0.0


def test_light_must_surround_the_object():
    h, w = 60, 60
    obj = np.zeros((h, w), bool)
    obj[25:35, 25:35] = True
    yy, xx = np.mgrid[:h, :w]
    known = np.ones((h, w), bool)
    around = ((yy - 30) ** 2 + (xx - 30) ** 2 < 20 ** 2).astype(np.float32) * ~obj
    one_side = around * (xx > 36)  # where a shadow was a moment ago: beside the object, not around it
    assert surrounds(around, lamp_ring(obj, known, 10))
    assert not surrounds(one_side, lamp_ring(obj, known, 10))
    assert not surrounds(around, lamp_ring(obj, known, 0))


def test_moving_warm_lamp_is_found_and_its_light_removed():
    video, masks, clean, glow = lamp_clip()
    core = (glow > 0.5) & (masks == quadmask.KEEP)
    median = np.median(video, axis=0).astype(np.float32)
    lit_median = luminance_ratio(median, clean[0].astype(np.float32))
    assert np.median(lit_median[core.any(axis=0)]) > 1.1  # the lamp lights the median too
    pairs = list(add_side_effects(Clip.from_arrays(video, masks)).pairs())
    marked = np.stack([q for _, q in pairs]) == quadmask.AFFECTED
    assert marked[core].mean() > 0.8  # (against the median: under 0.3)
    assert marked[(glow < 0.01) & (masks == quadmask.KEEP)].mean() < 0.01
    relit = np.stack([f for f, _ in pairs])
    assert psnr(relit, clean, core) > psnr(video, clean, core) + 4  # (against the median: under 1 dB)


def _window(video, objs):
    from cleanplate.sideeffects.estimate import WindowAnalysis
    from cleanplate.sideeffects.window import WorkFrame
    frames = [WorkFrame(f, o, np.zeros_like(o)) for f, o in zip(video, objs)]
    return WindowAnalysis(frames, SideEffectConfig(), 1.0)


def test_window_without_a_lamp_skips_the_far_view():
    from sidefx_clips import make_clip
    from cleanplate.sideeffects.tinted import window_far_background
    cfg = SideEffectConfig()
    for kind, pan in (("shadow", 0), ("shadow", 2), ("none", 2)):
        clip = make_clip(kind, pan=pan)
        win = _window(clip.video, clip.masks)
        assert win.moving
        assert window_far_background(win, win.zones, cfg) is None, (kind, pan)
    video, masks, _, _ = lamp_clip()
    win = _window(video, masks == quadmask.REMOVE)
    far = window_far_background(win, win.zones, cfg)
    assert far is not None and far.max() > 20  # the lamp's window: the far view is computed
