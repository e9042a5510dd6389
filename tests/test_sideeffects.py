"""Side-effect estimation and relighting on small paired clips with known shadows and reflections."""

import logging

import numpy as np
import pytest

import cleanplate
from cleanplate import quadmask
from cleanplate.clip import Clip
from cleanplate.sideeffects import SideEffectConfig, add_side_effects

from sidefx_clips import make_clip


def run(clip, **options):
    side = add_side_effects(Clip.from_arrays(clip.video, clip.masks), config=SideEffectConfig(**options))
    frames, masks = side.read()
    return frames, masks, side


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def grown(masks, radius):
    return np.stack([quadmask.dilate_mask(m, radius) for m in masks])


def psnr(a, b, region):
    diff = a.astype(np.float64)[region] - b.astype(np.float64)[region]
    return 10 * np.log10(255.0 ** 2 / max((diff ** 2).mean(), 1e-10))


@pytest.mark.parametrize("seed", [0, 1])
def test_moving_shadow_is_found(seed):
    clip = make_clip("shadow", seed=seed)
    _, masks, _ = run(clip)
    affected = quadmask.affected_region(masks)
    assert iou(affected, clip.side) > 0.75
    assert not (affected & ~clip.side).any()  # nothing found where the ground is untouched


def test_shadow_is_found_under_a_moving_camera():
    clip = make_clip("shadow", pan=1, noise=2.0)
    _, masks, _ = run(clip)
    affected = quadmask.affected_region(masks)
    assert iou(affected, clip.side) > 0.7
    assert (affected & ~clip.side).sum() < 0.02 * clip.side.sum()


def test_reflection_is_found():
    clip = make_clip("reflection")
    _, masks, _ = run(clip)
    assert iou(quadmask.affected_region(masks), clip.side) > 0.7


@pytest.mark.parametrize("kwargs", [{}, {"pan": 1}, {"noise": 3.0}, {"speed": 0, "contrast": 0.2}])
def test_no_side_effect_means_nothing_is_found(kwargs):
    clip = make_clip("none", **kwargs)
    frames, masks, _ = run(clip)
    assert np.array_equal(masks, quadmask.from_binary(clip.masks))
    assert np.array_equal(frames, clip.video)


def test_relighting_recovers_the_texture_under_a_known_shadow():
    clip = make_clip("shadow", strength=0.5)
    frames, masks, _ = run(clip)
    core = clip.side & (clip.shading < 0.7) & ~grown(clip.masks, 4)  # the shadow proper, off the object's edge
    assert core.sum() > 200
    assert psnr(clip.video, clip.clean, core) < 20  # the shadow is plain to see ...
    assert psnr(frames, clip.clean, core) > 30  # ... and gone once relit, texture and all
    # The texture is the frame's own: fine detail of the relit core follows the clean plate's.
    detail = lambda v: v.astype(np.float64) - np.roll(v, 1, axis=2).astype(np.float64)  # noqa: E731
    corr = np.corrcoef(detail(frames)[core].ravel(), detail(clip.clean)[core].ravel())[0, 1]
    assert corr > 0.9


def test_light_is_found_and_divided_out():
    clip = make_clip("light")
    frames, masks, _ = run(clip)
    affected = quadmask.affected_region(masks)
    core = clip.side & (clip.shading > 1.3) & ~grown(clip.masks, 4)  # (the object's edge becomes REMOVE)
    assert core.sum() > 200
    assert affected[core].mean() > 0.95
    assert psnr(frames, clip.clean, core) > psnr(clip.video, clip.clean, core) + 8


def test_still_object_on_plain_ground_contact_shadow_from_the_surroundings():
    clip = make_clip("shadow", speed=0, contrast=0.2)
    frames, masks, _ = run(clip)
    affected = quadmask.affected_region(masks)
    assert iou(affected, clip.side) > 0.45
    core = clip.side & (clip.shading < 0.7) & ~grown(clip.masks, 4)
    assert psnr(frames, clip.clean, core) > psnr(clip.video, clip.clean, core) + 5


def test_pixels_outside_affected_are_returned_bit_exact():
    clip = make_clip("shadow", pan=1, noise=2.0)
    frames, masks, _ = run(clip)
    affected = quadmask.affected_region(masks)
    assert affected.any()
    assert np.array_equal(frames[~affected], clip.video[~affected])
    source = quadmask.from_binary(clip.masks)
    assert np.array_equal(masks[~affected], source[~affected])
    assert (frames[affected] != clip.video[affected]).any()  # and inside, something was relit


def test_user_affected_region_is_kept_and_grown_over_adjacent_evidence():
    clip = make_clip("shadow")
    q = quadmask.from_binary(clip.masks)
    user = np.zeros_like(clip.side)
    user[:, :4, :4] = True  # a corner with no evidence at all: kept as the user said
    user |= clip.side & (clip.shading < 0.6)  # the shadow's core: grown to its fringe
    q[user & (q == quadmask.KEEP)] = quadmask.AFFECTED
    side = add_side_effects(Clip(Clip.from_arrays(clip.video, clip.masks).info,
                                 lambda: iter(clip.video), lambda: iter(q)))
    _, masks = side.read()
    affected = quadmask.affected_region(masks)
    assert affected[user].all()
    assert affected.sum() > 1.3 * user.sum()
    assert iou(affected & ~user, clip.side & ~user) > 0.6


def test_estimate_over_max_fraction_is_capped_with_a_warning(caplog):
    clip = make_clip("light")
    frame_pixels = clip.video.shape[1] * clip.video.shape[2]
    with caplog.at_level(logging.WARNING, logger="cleanplate.sideeffects"):
        _, masks, _ = run(clip, max_fraction=0.02)
    assert "covered more than 2% of the frame" in caplog.text
    per_frame = quadmask.affected_region(masks).sum(axis=(1, 2))
    assert per_frame.max() <= 0.02 * frame_pixels * 1.1  # full-resolution rounding aside
    assert per_frame.min() > 0  # capped to its strongest part, not dropped


def test_estimation_is_deterministic():
    clip = make_clip("shadow", pan=1, noise=2.0)
    first = run(clip)
    second = run(clip)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    soft = [np.stack(list(r[2].soft_masks())) for r in (first, second)]
    assert np.array_equal(*soft)


def test_windows_cover_long_clips_seamlessly():
    clip = make_clip("shadow", frames=30, w=192)  # fast enough for short windows to see past the shadow
    _, whole, _ = run(clip)
    frames, windowed, side = run(clip, window=16, overlap=6, cache_windows=1)
    assert len(windowed) == 30
    a, b = quadmask.affected_region(whole), quadmask.affected_region(windowed)
    assert iou(b, clip.side) > 0.7
    assert iou(a, b) > 0.85
    # Every stream of the clip agrees, whichever order they are read in.
    assert np.array_equal(np.stack(list(side.masks())), windowed)
    assert np.array_equal(np.stack(list(side.frames())), frames)


def test_soft_mask_is_in_unit_range_and_zero_on_the_object():
    clip = make_clip("shadow")
    _, masks, side = run(clip)
    soft = np.stack(list(side.soft_masks()))
    assert soft.dtype == np.float32 and soft.min() >= 0 and soft.max() <= 1
    assert not soft[clip.masks].any()
    assert soft[quadmask.affected_region(masks)].min() >= SideEffectConfig().threshold


def test_progress_is_reported():
    clip = make_clip("shadow", frames=12)
    calls = []
    side = add_side_effects(Clip.from_arrays(clip.video, clip.masks), progress=lambda *a: calls.append(a),
                            config=SideEffectConfig(window=6, overlap=2))
    side.read()
    assert calls and all(stage == "side-effects" for stage, _, _ in calls)
    assert calls[-1][1:] == (12, 12)


def test_remove_with_side_effects_auto_removes_the_shadow():
    clip = make_clip("shadow")
    off = cleanplate.remove(clip.video, clip.masks, engine="median", side_effects="off")
    auto = cleanplate.remove(clip.video, clip.masks, engine="median", side_effects="auto")
    assert psnr(auto, clip.clean, clip.side) > psnr(off, clip.clean, clip.side) + 10
    far = ~grown(clip.masks | clip.side, 12)
    assert np.array_equal(auto[far], clip.video[far])


def test_remove_passes_side_effect_options_to_the_estimate():
    clip = make_clip("shadow")
    plain = cleanplate.remove(clip.video, clip.masks, engine="median", side_effects="auto")
    # With every cue off nothing is found.
    blind = cleanplate.remove(clip.video, clip.masks, engine="median", side_effects="auto",
                              side_effect_options=dict.fromkeys(["shadows", "lights", "reflections", "spatial"], False))
    off = cleanplate.remove(clip.video, clip.masks, engine="median", side_effects="off")
    assert np.array_equal(blind, off)
    assert not np.array_equal(plain, off)


@pytest.mark.parametrize("options, expected", [
    ({"nonsense": 1}, "valid options"),
    ({"max_fraction": 2.0}, "max_fraction"),
])
def test_remove_refuses_bad_side_effect_options(options, expected):
    clip = make_clip("shadow", frames=4)
    with pytest.raises(cleanplate.InputError, match=expected):
        cleanplate.remove(clip.video, clip.masks, engine="median", side_effects="auto", side_effect_options=options)
    with pytest.raises(cleanplate.InputError, match="only apply with --side-effects auto"):
        cleanplate.remove(clip.video, clip.masks, engine="median", side_effect_options={"max_fraction": 0.5})


def test_bad_option_names_itself():
    clip = Clip.from_arrays(np.zeros((4, 8, 8, 3), np.uint8), np.zeros((4, 8, 8), bool))
    with pytest.raises(cleanplate.InputError, match="overlap"):
        add_side_effects(clip, config=SideEffectConfig(window=5, overlap=5))


def test_user_affected_region_without_evidence_is_left_whole_to_the_engine():
    clip = make_clip("none")
    q = quadmask.from_binary(clip.masks)
    q[:, 40:56, 60:80] = np.where(q[:, 40:56, 60:80] == quadmask.KEEP, quadmask.AFFECTED, q[:, 40:56, 60:80])
    info = Clip.from_arrays(clip.video, clip.masks).info
    frames, masks = add_side_effects(Clip(info, lambda: iter(clip.video), lambda: iter(q))).read()
    assert np.array_equal(masks, q)  # kept in every frame, nothing added
    assert np.array_equal(frames, clip.video)  # not relit: no evidence of a shading change


@pytest.mark.parametrize("count", [1, 2])
def test_very_short_and_empty_clips(count):
    clip = make_clip("shadow", frames=count)
    frames, masks, _ = run(clip)
    assert frames.shape == clip.video.shape and masks.shape == clip.masks.shape
    empty = Clip.from_arrays(clip.video, np.zeros_like(clip.masks))
    frames, masks = add_side_effects(empty).read()
    assert np.array_equal(frames, clip.video) and (masks == quadmask.KEEP).all()


def test_texture_of_a_layer_the_camera_motion_does_not_align_is_not_a_side_effect():
    """Synth common clip 123: a pan past a far photo above the ground; one homography fits the
    ground and leaves the photo sliding, so its dark specks look darker than the (smeared) median
    and, without the test against the samples' scatter, a few of them are marked in frames 11-13."""
    from cleanplate.bench.synth.generate import generate_clip

    synth = generate_clip(123, "common", (320, 192), 24)
    side = add_side_effects(Clip.from_arrays(synth.input, synth.object, fps=25))
    assert [int((q == quadmask.AFFECTED).sum()) for _, q in side.pairs()] == [0] * 24
