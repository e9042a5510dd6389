"""Keyframe-guided propagation: the window and keyframe arithmetic, and the driver (no network needed)."""

import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.engines.diffusion.keyframes import keyframe_guided, keyframe_step, plan_keyframes


def test_keyframe_step_is_ceil_of_frames_over_window():
    assert keyframe_step(50, 9) == 6
    assert keyframe_step(81, 81) == 1
    assert keyframe_step(82, 81) == 2
    assert keyframe_step(1000, 81) == 13


def test_plan_on_a_long_tiny_clip_is_exact():
    plan = plan_keyframes(50, 9)
    assert plan.step == 6
    assert plan.keyframes == (0, 6, 12, 18, 24, 30, 36, 42, 48)
    assert plan.windows == ((0, 9), (6, 15), (12, 21), (18, 27), (24, 33), (30, 39), (36, 45), (42, 50))
    assert plan.emit == ((0, 9), (9, 15), (15, 21), (21, 27), (27, 33), (33, 39), (39, 45), (45, 50))
    assert plan.overlap == 3 and not plan.chained
    assert plan.known_frames(0) == (0, 6)
    assert plan.known_frames(1) == (6, 12)
    assert plan.known_frames(7) == (42, 48)


def test_plan_with_wan_window():
    plan = plan_keyframes(100, 21)
    assert plan.step == 5 and len(plan.keyframes) == 20
    assert plan.windows == ((0, 21), (20, 41), (40, 61), (60, 81), (80, 100))
    assert plan.overlap == 1  # windows meet on one keyframe


def test_short_clip_is_one_window_without_keyframes():
    plan = plan_keyframes(9, 81)
    assert plan.keyframes == () and plan.windows == ((0, 9),) and plan.emit == ((0, 9),)


def test_keyframes_further_apart_than_a_window_chain_windows():
    plan = plan_keyframes(100, 5)
    assert plan.step == 20 and plan.chained
    assert plan.keyframes == (0, 20, 40, 60, 80)
    assert plan.windows[:3] == ((0, 5), (4, 9), (8, 13))
    assert plan.known_frames(1) == (4,)  # the previous window's last frame, handed on
    assert plan.known_frames(5) == (20,)  # a keyframe that starts the window


@pytest.mark.parametrize("frames", [1, 2, 8, 9, 10, 17, 50, 81, 82, 200, 1000])
@pytest.mark.parametrize("window", [5, 9, 21, 81])
def test_plan_invariants(frames, window):
    plan = plan_keyframes(frames, window)
    assert len(plan.keyframes) <= window
    emitted = [i for a, b in plan.emit for i in range(a, b)]
    assert emitted == list(range(frames))  # every frame exactly once, in order
    for index, (start, stop) in enumerate(plan.windows):
        assert 0 < stop - start <= window
        a, b = plan.emit[index]
        assert start <= a <= b == stop
        if index:
            assert start in plan.known_frames(index)  # every later window starts on a known frame


def _clean(frames, masks, priors, stage, calls):
    calls.append((stage, frames.copy(), masks.copy(), priors))
    hole = quadmask.hole(masks)[..., None]
    return np.where(hole, 255 - frames, frames)


def test_driver_injects_keyframes_and_emits_every_frame_once():
    num, window = 19, 5
    plan = plan_keyframes(num, window)  # step 4: keyframes 0, 4, 8, 12, 16
    assert not plan.chained
    frames = np.arange(num, dtype=np.uint8)[:, None, None, None].repeat(4, 1).repeat(4, 2).repeat(3, 3)
    masks = np.zeros((num, 4, 4), np.uint8)
    opened = []

    def items():
        opened.append(1)
        return ((f, m, None) for f, m in zip(frames, masks))

    calls = []
    out = list(keyframe_guided(items, plan, lambda f, m, p, s: _clean(f, m, p, s, calls)))
    assert len(opened) == 2  # one pass for the keyframes, one for the windows
    assert [int(o[0, 0, 0]) for o in out] == [255 - i for i in range(num)]
    stage, kf, kf_masks, _ = calls[0]
    assert stage == "keyframes" and kf[:, 0, 0, 0].tolist() == [0, 4, 8, 12, 16]
    assert len(calls) == 1 + len(plan.windows)
    for (stage, f, m, _), (start, stop) in zip(calls[1:], plan.windows):
        assert stage == "window" and len(f) == stop - start <= window
        for j in range(len(f)):
            if start + j in plan.keyframes:  # injected: the cleaned keyframe, known
                assert f[j, 0, 0, 0] == 255 - (start + j) and (m[j] == quadmask.KEEP).all()
            else:
                assert f[j, 0, 0, 0] == start + j and (m[j] == quadmask.REMOVE).all()


def test_driver_hands_last_frame_on_when_chained():
    num, window = 30, 5  # step 6 > window - 1
    plan = plan_keyframes(num, window)
    assert plan.chained
    frames = np.arange(num, dtype=np.uint8)[:, None, None, None].repeat(2, 1).repeat(2, 2).repeat(3, 3)
    masks = np.zeros((num, 2, 2), np.uint8)
    calls = []
    out = list(keyframe_guided(lambda: ((f, m, f) for f, m in zip(frames, masks)), plan,
                               lambda f, m, p, s: _clean(f, m, p, s, calls)))
    assert [int(o[0, 0, 0]) for o in out] == [255 - i for i in range(num)]
    _, f, m, p = calls[2]  # window [4, 9): frame 4 comes from window [0, 5)
    assert f[0, 0, 0, 0] == 255 - 4 and (m[0] == quadmask.KEEP).all() and p[0, 0, 0, 0] == 255 - 4
