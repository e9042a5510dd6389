"""A still lamp's light (:mod:`cleanplate.sideeffects.lamp`): no frame shows the ground around it
unlit, so it is found from the surroundings, a brightening that falls off all around the object."""

import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.clip import Clip
from cleanplate.sideeffects import SideEffectConfig, add_side_effects
from cleanplate.sideeffects.lamp import fit_still_lamp, lamp_gain

from sidefx_clips import textured_ground

WARM = np.float32([1.0, 0.85, 0.55])
H, W, CX, CY, RADIUS = 72, 128, 64.0, 34.0, 7.0
ON = SideEffectConfig(still_lamps=True)


def still_clip(light, frames: int = 9, seed: int = 0, noise: float = 1.0):
    """A bright disc standing still on textured ground; ``light(xx, yy)`` is the per-pixel gain
    ``(H, W, 3)`` on the ground. Returns ``(video, quadmasks, clean, obj)``."""
    rng = np.random.default_rng(seed)
    ground = textured_ground(H, W, rng)
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    obj = (xx - CX) ** 2 + (yy - CY) ** 2 <= RADIUS ** 2
    lit = np.clip(ground * light(xx, yy), 0, 255)
    video = []
    for _ in range(frames):
        frame = np.clip(lit + rng.normal(0, noise, lit.shape), 0, 255)
        frame[obj] = (255, 236, 190)
        video.append((frame + 0.5).astype(np.uint8))
    q = np.full((H, W), quadmask.KEEP, np.uint8)
    q[obj] = quadmask.REMOVE
    clean = np.repeat((ground + 0.5).astype(np.uint8)[None], frames, axis=0)
    return np.stack(video), np.repeat(q[None], frames, axis=0), clean, obj


def lamp(gain=0.8, reach=10.0, colour=WARM):
    """A lamp at the disc: ``1 + gain * exp(-d^2 / 2 reach^2) * colour``."""
    return lambda xx, yy: 1 + gain * np.exp(-((xx - CX) ** 2 + (yy - CY) ** 2) / (2 * reach ** 2))[..., None] * colour


def psnr(a, b, region):
    diff = a.astype(np.float64)[region] - b.astype(np.float64)[region]
    return 10 * np.log10(255.0 ** 2 / max((diff ** 2).mean(), 1e-10))


def test_still_lamp_colour_and_falloff_are_fitted():
    video, masks, _, obj = still_clip(lamp())
    fit = fit_still_lamp(list(video[:3]), [obj] * 3)
    assert fit is not None
    truth = np.log1p(0.8 * WARM)
    assert fit.colour @ (truth / np.linalg.norm(truth)) > 0.98  # the lamp's colour direction
    for falloff in (fit.above, fit.below):
        assert np.all(np.diff(falloff) <= 0) and falloff[-1] == 0 and falloff[0] > 0.2
    gain = lamp_gain(fit, obj, 14)
    ring = ~obj & (np.hypot(*np.mgrid[:H, :W] - np.array([CY, CX])[:, None, None]) < RADIUS + 4)
    far = np.hypot(*np.mgrid[:H, :W] - np.array([CY, CX])[:, None, None]) > 45
    assert gain[ring].mean() > 1.3 and np.all(gain[far] == 1.0)


def test_still_lamp_is_found_and_its_light_removed():
    video, masks, clean, obj = still_clip(lamp())
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    glow = np.exp(-((xx - CX) ** 2 + (yy - CY) ** 2) / 200.0)
    pairs = list(add_side_effects(Clip.from_arrays(video, masks), config=ON).pairs())
    marked = np.stack([q for _, q in pairs]) == quadmask.AFFECTED
    relit = np.stack([f for f, _ in pairs])
    # (the object's own 2-pixel margin is the engine's: it is filled with the object)
    core = np.broadcast_to((glow > 0.3) & (np.hypot(xx - CX, yy - CY) > RADIUS + 3), marked.shape)
    assert marked[core].mean() > 0.8
    assert marked[np.broadcast_to(glow < 0.01, marked.shape)].mean() < 0.01
    assert psnr(relit, clean, core) > psnr(video, clean, core) + 4


def _wall(xx, yy):  # the left part of the scene is a brighter wall
    return np.where(xx < CX - 12, 1.6, 1.0)[..., None] * np.ones(3, np.float32)


def _patch(xx, yy):  # a lit patch beside the object, on its right only
    return 1 + 0.8 * np.exp(-((xx - CX - 20) ** 2 + (yy - CY) ** 2) / (2 * 8.0 ** 2))[..., None] * WARM


def _horizon(xx, yy):  # the object stands on the horizon: darker above (far backdrop), lighter below
    return np.where(yy < CY, 0.45, 1.0)[..., None] * np.ones(3, np.float32)


@pytest.mark.parametrize("light", [_wall, _patch, _horizon], ids=["wall", "patch", "horizon"])
def test_brightness_that_does_not_surround_a_still_object_is_not_a_lamp(light):
    video, masks, _, obj = still_clip(light)
    assert fit_still_lamp(list(video[:3]), [obj] * 3) is None
    # Nothing is marked as light: the estimate is the one made without the light cues (the wall's
    # darker side may pass for the object's contact shadow; that is another cue's doing).
    pairs = list(add_side_effects(Clip.from_arrays(video, masks), config=ON).pairs())
    unlit = list(add_side_effects(Clip.from_arrays(video, masks), config=SideEffectConfig(lights=False)).pairs())
    for (frame, q), (frame_unlit, q_unlit), original in zip(pairs, unlit, video):
        assert np.array_equal(q, q_unlit) and np.array_equal(frame, frame_unlit)
        assert (frame[q == quadmask.AFFECTED] >= original[q == quadmask.AFFECTED]).all()  # not darkened: no light was divided out


def test_a_still_lamp_is_not_looked_for_under_camera_motion():
    """Under a pan, nearer things slide across the lit ground: the cue is tried in a still shot only."""
    video, masks, _, obj = still_clip(lamp())
    pan = np.stack([np.roll(f, 2 * t, axis=1) for t, f in enumerate(video)])
    panned_masks = np.stack([np.roll(q, 2 * t, axis=1) for t, q in enumerate(masks)])
    on = list(add_side_effects(Clip.from_arrays(pan, panned_masks), config=ON).pairs())
    off = list(add_side_effects(Clip.from_arrays(pan, panned_masks), config=SideEffectConfig()).pairs())
    for (frame, q), (frame_off, q_off) in zip(on, off, strict=True):
        assert np.array_equal(q, q_off) and np.array_equal(frame, frame_off)
    # the same clip without the pan: the light is found (the test above), so the pan is what stops it
    still = list(add_side_effects(Clip.from_arrays(video, masks), config=ON).pairs())
    assert any((q == quadmask.AFFECTED).any() for _, q in still)
