"""The side-effect clip's analysis runs one window ahead in a worker thread, shared by every stream."""

import threading

import numpy as np
import pytest

import cleanplate
from cleanplate.clip import Clip
from cleanplate.sideeffects import SideEffectConfig, add_side_effects, sideclip
from sidefx_clips import walking_block

CONFIG = SideEffectConfig(window=8, overlap=2)  # windows start at 0, 6, 12, 18
T, H, W = 24, 40, 72


@pytest.fixture
def calls(monkeypatch):
    """Every window analysis: ``(first frame's object column, ran off the main thread)``."""
    seen = []
    original = sideclip.analyse_window

    def spy(frames, lo, hi, config, scale, publish=None):
        column = int(np.nonzero(frames[0].obj.any(axis=0))[0][0])
        seen.append((column, threading.current_thread() is not threading.main_thread()))
        return original(frames, lo, hi, config, scale, publish)

    monkeypatch.setattr(sideclip, "analyse_window", spy)
    return seen


def block_clip():
    frames, masks = walking_block(T, H, W)
    return Clip.from_arrays(frames, masks, fps=25)


def test_the_next_window_is_analysed_while_this_one_is_read(calls):
    side = add_side_effects(block_clip(), config=CONFIG)
    stream = side.pairs()
    next(stream)  # the first frame is out: its window is done, the next one started
    side._known(6).future.result()
    assert [x for x, _ in calls] == [2, 14]  # windows 0 and 6 (the block starts at x = 2 + 2 * frame)
    assert all(worker for _, worker in calls)
    rest = list(stream)
    assert len(rest) == T - 1 and len(calls) == 4


def test_every_window_is_analysed_once_for_the_engine_and_the_compositor(calls):
    frames, masks = walking_block(T, H, W)
    # The compositor reads what the engine read up to one engine window earlier; the cache's three
    # windows reach that far (as the defaults' 3 x 28 frames do the engine's 24).
    cleanplate.remove(frames, masks, engine="propagate", window=8, overlap=2, lookahead=2, side_effects="auto",
                      side_effect_options={"window": 8, "overlap": 2})
    assert [x for x, _ in calls] == [2, 14, 26, 38]


def test_reading_ahead_changes_nothing(monkeypatch):
    """Ahead (both windows' frames fit the shared-decode budget) or not (only one does): the same."""
    ahead = list(add_side_effects(block_clip(), config=CONFIG).pairs())
    one_window = CONFIG.window * H * W * 4
    monkeypatch.setattr(sideclip, "SHARED_DECODE_BYTES", one_window)
    calls = []
    original = sideclip.SideEffectClip._analysis

    def counted(self, span, *args):
        calls.append(span[0])
        return original(self, span, *args)

    monkeypatch.setattr(sideclip.SideEffectClip, "_analysis", counted)
    step = list(add_side_effects(block_clip(), config=CONFIG).pairs())
    assert calls == [0, 6, 12, 18]  # each asked for only when its frames are reached
    assert sum(int((q == 127).sum()) for _, q in ahead) > 0
    for (fa, qa), (fb, qb) in zip(ahead, step, strict=True):
        assert np.array_equal(fa, fb) and np.array_equal(qa, qb)


def test_an_error_in_the_worker_reaches_the_reader(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("analysis failed")

    monkeypatch.setattr(sideclip, "analyse_window", broken)
    with pytest.raises(RuntimeError, match="analysis failed"):
        add_side_effects(block_clip(), config=CONFIG).read()


def test_a_window_s_first_frames_are_read_before_the_rest_are_estimated(monkeypatch):
    """The reader (the engine) goes on with a window's first frames while the worker estimates the rest."""
    read_first = threading.Event()
    waited_in_vain = []
    original = sideclip.analyse_window

    def gated(frames, lo, hi, config, scale, publish=None):
        def hand_out(estimate):
            publish(estimate)
            # The clip's first estimate is out: wait for the reader to take it. (Only the first window's:
            # a window another test's clip queued may still be analysed by its worker meanwhile.)
            if lo == 0 and not waited_in_vain:
                waited_in_vain.append(not read_first.wait(timeout=5))
        return original(frames, lo, hi, config, scale, publish=hand_out)

    monkeypatch.setattr(sideclip, "analyse_window", gated)
    stream = add_side_effects(block_clip(), config=CONFIG).pairs()
    first = next(stream)
    read_first.set()
    rest = list(stream)
    assert waited_in_vain == [False]
    reference = list(add_side_effects(block_clip(), config=CONFIG).pairs())
    for (fa, qa), (fb, qb) in zip([first] + rest, reference, strict=True):
        assert np.array_equal(fa, fb) and np.array_equal(qa, qb)
