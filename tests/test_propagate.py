"""The ``propagate`` engine: exact sources where the motion is known, streaming windows, the
never-visible and AFFECTED rules, and the API contract (bit-exact outside the hole)."""

import numpy as np
import pytest

import cleanplate
from cleanplate import quadmask
from cleanplate.clip import Clip
from cleanplate.engines import get_engine
from cleanplate.engines.propagate import PropagateConfig, PropagateEngine, propagate_frames
from cleanplate.engines.propagate.compose import blend_candidates
from cleanplate.engines.propagate.flow import Scale, invert_flow, sample_points
from cleanplate.engines.propagate.flow_completion import complete_pair, fill_smooth, homography_flow
from cleanplate.engines.propagate.propagation import PairFlow, Sources, chained_homographies, far_sources, trace
from cleanplate.errors import InputError
from conftest import make_square_clip

SMALL = dict(window=10, overlap=2, lookahead=3)  # several windows on a short clip


def _quadmasks(masks, dilate=4):
    return [quadmask.dilate_quadmask(quadmask.from_binary(m), dilate) for m in masks]


def _static_object_clip(frames=14, size=40):
    """A static camera, a static square: the spot behind it is never visible."""
    video, _, background = make_square_clip(frames=frames, size=size, pan=0)
    still = np.repeat(background[:1], frames, axis=0)
    masks = np.zeros((frames, size, size), bool)
    masks[:, 14:24, 12:26] = True
    video = still.copy()
    video[masks] = (255, 0, 0)
    return video, masks, still


def test_registered_under_its_name():
    assert get_engine("propagate") is PropagateEngine


def test_config_rejects_a_window_without_new_frames():
    with pytest.raises(InputError, match="window"):
        PropagateConfig(window=6, overlap=3, lookahead=3)
    with pytest.raises(InputError, match="flow_preset"):
        PropagateEngine(flow_preset="slowest")


def test_trace_finds_exact_sub_pixel_sources_under_known_translation():
    """Pure translation by (+1.5, -0.5) px a frame: each hole pixel's source is known exactly."""
    n, h, w = 5, 20, 44
    known = [np.ones((h, w), bool) for _ in range(n)]
    for i in range(n):
        known[i][8:12, 10 + 6 * i:14 + 6 * i] = False  # a hole moving 6 px a frame
    known[2][8:12, 26:31] = False  # frame 2 also hides where frame 3's hole looks back to
    pixels = [np.flatnonzero(~k) for k in known]
    shift = np.array([1.5, -0.5], np.float32)
    pair = PairFlow(np.broadcast_to(shift, (h, w, 2)).copy(), np.broadcast_to(-shift, (h, w, 2)).copy(), np.eye(3))
    scale = Scale((h, w), (h, w))
    past = trace(known, pixels, [pair] * (n - 1), scale, True, consistency=0.1)
    future = trace(known, pixels, [pair] * (n - 1), scale, False, consistency=0.1)
    for i in range(n):
        ys, xs = np.divmod(pixels[i], w)
        for sources in (past[i], future[i]):
            found = sources.found()
            steps = (sources.frame[found] - i).astype(np.float32)
            np.testing.assert_allclose(sources.x[found], xs[found] + steps * shift[0], atol=1e-4)
            np.testing.assert_allclose(sources.y[found], ys[found] + steps * shift[1], atol=1e-4)
    assert (past[1].frame == 0).all() and (future[1].frame == 2).all() and (past[4].frame == 3).all()
    # where frame 2 hides the spot too, the chain goes on to the next frame that shows it
    assert set(past[3].frame.tolist()) == {1, 2}
    assert set(future[2].frame.tolist()) == {3, 4}
    assert (past[0].frame == -1).all() and (future[n - 1].frame == -1).all()


def test_far_sources_align_far_frames_by_chained_homographies():
    """No chain needed: a spot hidden in frames 1-5 is found in frame 0 or 6 by the camera's motion."""
    n, h, w = 7, 30, 40
    step = np.array([[1, 0, 2.0], [0, 1, 0.5], [0, 0, 1]])  # the camera's motion between frames
    pair = PairFlow(None, None, step)
    chain = chained_homographies([pair] * (n - 1), Scale((h, w), (h, w)))
    known = [np.zeros((h, w), bool) if 0 < t < n - 1 else np.ones((h, w), bool) for t in range(n)]
    pixels = np.array([10 * w + 12, 20 * w + 5])
    found = far_sources(known, chain, 3, pixels, count=4)
    assert found.found().all()
    ys, xs = np.divmod(pixels, w)
    offset = (found.frame - 3).astype(float)
    np.testing.assert_allclose(found.x, xs + 2.0 * offset, atol=1e-4)
    np.testing.assert_allclose(found.y, ys + 0.5 * offset, atol=1e-4)


def test_blend_samples_each_source_once_at_native_resolution():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (10, 12, 3), dtype=np.uint8) for _ in range(3)]
    pixels = np.array([5, 40])
    past = Sources(pixels, np.array([0, -1], np.int32), np.array([3.0, 0], np.float32), np.array([2.0, 0], np.float32))
    future = Sources(pixels, np.array([2, 2], np.int32), np.array([4.0, 7.0], np.float32), np.array([1.0, 6.0], np.float32))
    colours, found = blend_candidates(images, 1, [past, future], power=2.0)
    assert found.all()
    np.testing.assert_allclose(colours[0], (images[0][2, 3] + images[2][1, 4]) / 2.0, atol=1e-4)  # equal distance
    np.testing.assert_allclose(colours[1], images[2][6, 7], atol=1e-4)  # only one candidate


def test_flow_completion_recovers_the_camera_motion_inside_the_hole():
    h, w = 60, 80
    H = np.array([[1.02, 0.01, 1.5], [-0.01, 1.01, -0.7], [0, 0, 1]])
    truth = homography_flow(H, (h, w))
    corrupted = truth.copy()
    region = np.zeros((h, w), bool)
    region[20:36, 30:50] = True
    corrupted[region] = (6.0, -4.0)  # the object's own motion
    forward, backward, fitted = complete_pair(corrupted, region)
    np.testing.assert_allclose(forward[region], truth[region], atol=0.02)
    np.testing.assert_allclose(fitted, H, atol=1e-3)
    # the backward flow undoes the forward one inside the hole
    ys, xs = np.nonzero(region)
    there = sample_points(backward, xs + forward[ys, xs, 0], ys + forward[ys, xs, 1])
    np.testing.assert_allclose(there, -forward[ys, xs], atol=0.02)


def test_fill_smooth_keeps_known_values_and_interpolates_a_plane():
    ys, xs = np.mgrid[0:32, 0:32].astype(np.float32)
    plane = np.stack([0.1 * xs + 2, -0.05 * ys], axis=-1)
    valid = np.ones((32, 32), bool)
    valid[10:20, 12:22] = False
    filled = fill_smooth(plane, valid)
    np.testing.assert_allclose(filled[valid], plane[valid], atol=1e-5)
    assert np.abs(filled[~valid] - plane[~valid]).max() < 0.3


def test_invert_flow_of_a_translation_is_its_negative():
    flow = np.broadcast_to(np.float32([2.25, -1.0]), (24, 32, 2)).copy()
    np.testing.assert_allclose(invert_flow(flow), -flow, atol=1e-5)


def test_recovers_the_background_behind_a_moving_square():
    video, masks, background = make_square_clip(frames=12, size=48, square=10)
    # The mask is exact here, so the pixels right next to it are clean sources too.
    out = cleanplate.remove(video, masks, engine="propagate", source_margin=0)
    err = np.abs(out.astype(int) - background)[masks]
    telea = np.abs(cleanplate.remove(video, masks, engine="telea").astype(int) - background)[masks]
    assert err.mean() < 1.0 and err.max() <= 8  # near-exact: the background is seen in other frames
    assert telea.mean() > 10 * err.mean()


def test_output_outside_the_hole_is_bit_exact_and_deterministic():
    video, masks, _ = make_square_clip(frames=10, size=40, square=8)
    a = cleanplate.remove(video, masks, engine="propagate", **SMALL)
    b = cleanplate.remove(video, masks, engine="propagate", **SMALL)
    assert np.array_equal(a, b)
    keep = np.stack([q == quadmask.KEEP for q in _quadmasks(masks)])
    assert np.array_equal(a[keep], video[keep])
    assert not np.array_equal(a[masks], video[masks])


def test_windows_stream_every_frame_in_order_and_agree_with_one_window():
    video, masks, background = make_square_clip(frames=26, size=40, square=6)
    quads = _quadmasks(masks)
    windowed = list(propagate_frames(zip(video, quads), PropagateConfig(**SMALL)))
    whole = list(propagate_frames(zip(video, quads), PropagateConfig(window=26, overlap=0, lookahead=0)))
    assert len(windowed) == 26
    keep = np.stack(quads) == quadmask.KEEP
    for t, frame in enumerate(windowed):
        assert np.array_equal(frame[keep[t]], video[t][keep[t]])  # frame t is frame t
    diff = np.abs(np.stack(windowed).astype(int) - np.stack(whole))[masks]
    assert diff.mean() < 1.5
    err = np.abs(np.stack(windowed).astype(int) - background)[masks]
    assert err.mean() < 1.5


def test_blurred_object_edge_outside_the_mask_stays_out_of_the_fill():
    """A dark 2-px halo hugs the square outside its mask (a soft edge the mask missed)."""
    video, masks, background = make_square_clip(frames=12, size=48, square=10)
    for t in range(12):
        ys, xs = np.nonzero(masks[t])
        halo = np.zeros_like(masks[t])
        halo[ys.min() - 2:ys.max() + 3, xs.min() - 2:xs.max() + 3] = True
        video[t][halo & ~masks[t]] = 0
    errors = {}
    for margin in (0, 3):
        out = cleanplate.remove(video, masks, engine="propagate", dilate=0, feather=0, source_margin=margin)
        errors[margin] = np.abs(out.astype(int) - background)[masks].mean()
    assert errors[3] < 4.0 and errors[0] > 30.0


def test_reads_no_more_than_one_window_ahead():
    video, masks, _ = make_square_clip(frames=30, size=32, square=8)
    quads = _quadmasks(masks)
    read = []

    def pairs():
        for t in range(30):
            read.append(t)
            yield video[t], quads[t]

    stream = propagate_frames(pairs(), PropagateConfig(**SMALL))
    for t in range(30):
        next(stream)
        assert len(read) <= t + SMALL["window"]


def test_never_visible_spot_is_filled_identically_in_every_frame_across_windows():
    video, masks, _ = _static_object_clip(frames=14)
    out = cleanplate.remove(video, masks, engine="propagate", **SMALL)
    hole = masks[0]
    fills = out[:, hole].astype(int)
    assert (np.abs(fills - fills[0]) <= 1).all()  # no flicker, also where windows meet
    assert not (fills[0] == (255, 0, 0)).all(axis=-1).any()  # the red object is gone


def test_affected_pixels_come_from_frames_where_they_are_keep():
    """A moving shadow darkens the background; where the spot is KEEP elsewhere, that is used."""
    _, _, background = make_square_clip(frames=10, size=40, pan=1)
    video = background.copy()
    quads = np.full(video.shape[:3], quadmask.KEEP, np.uint8)
    for t in range(10):
        x = 3 + 3 * t
        video[t, 12:22, x:x + 8] //= 2
        quads[t, 12:22, x:x + 8] = quadmask.AFFECTED
    out = cleanplate.remove(video, quads, engine="propagate", dilate=0, feather=0, **SMALL)
    affected = quads == quadmask.AFFECTED
    err = np.abs(out.astype(int) - background)[affected]
    assert err.mean() < 2.0  # the shadow is gone, not inpainted around


def test_affected_pixels_never_keep_anywhere_stay_as_they_are():
    video, masks, _ = _static_object_clip(frames=10)
    quads = np.where(masks, quadmask.AFFECTED, quadmask.KEEP).astype(np.uint8)
    out = cleanplate.remove(video, quads, engine="propagate", dilate=0, feather=0, **SMALL)
    assert np.array_equal(out, video)  # no texture invented in a spot never seen unaffected


def test_reports_fill_progress_per_frame():
    video, masks, _ = make_square_clip(frames=9, size=32, square=8)
    calls = []
    engine = PropagateEngine(**SMALL)
    clip = Clip.from_arrays(video, masks)
    frames = list(engine.fill(clip, lambda stage, done, total: calls.append((stage, done, total))))
    assert len(frames) == 9
    assert calls == [("fill", t, 9) for t in range(1, 10)]



def test_colour_correction_matches_a_frame_brighter_than_its_sources():
    video, masks, background = make_square_clip(frames=10, size=40, square=8)
    brighter = background.copy()
    brighter[5] = np.clip(brighter[5].astype(int) + 12, 0, 255)
    video = np.where(masks[..., None], video, brighter)
    errors = {}
    for on in (True, False):
        out = cleanplate.remove(video, masks, engine="propagate", colour_correction=on)
        errors[on] = np.abs(out[5].astype(int) - brighter[5])[masks[5]].mean()
    assert errors[True] < 3.0 < 8.0 < errors[False]
