"""Splitting a long video into overlapping segments and stitching them back: exact arithmetic."""

import numpy as np
import pytest

from cleanplate.cluster.segments import (Segment, blend, crossfade_weights, plan_segments, segment_count,
                                         stitch)
from cleanplate.errors import InputError


@pytest.mark.parametrize("frames,count,overlap", [(100, 4, 5), (101, 3, 8), (10, 1, 3), (12, 4, 0), (17, 2, 4)])
def test_cores_cover_every_frame_once_and_reads_widen_them_by_the_overlap(frames, count, overlap):
    plan = plan_segments(frames, count, overlap)
    assert [s.index for s in plan] == list(range(count))
    covered = np.concatenate([np.arange(s.start, s.stop) for s in plan])
    assert np.array_equal(covered, np.arange(frames))  # in order, each frame once
    for s in plan:
        assert s.read_start == max(s.start - overlap, 0)
        assert s.read_stop == min(s.stop + overlap, frames)
    for a, b in zip(plan, plan[1:]):
        assert a.read_stop - b.read_start == 2 * overlap  # the frames both compute
    sizes = [s.stop - s.start for s in plan]
    assert max(sizes) - min(sizes) <= 1


def test_segment_count_from_seconds_or_number():
    assert segment_count(250, 25.0, segments=3) == 3
    assert segment_count(250, 25.0, segment_seconds=2.0) == 5
    assert segment_count(260, 25.0, segment_seconds=2.0) == 5  # 5.2 pieces: rounded, cut evenly
    assert segment_count(10, 25.0, segment_seconds=60.0) == 1
    with pytest.raises(InputError, match="either"):
        segment_count(250, 25.0, segments=2, segment_seconds=2.0)
    with pytest.raises(InputError, match="either"):
        segment_count(250, 25.0)


def test_plan_refuses_segments_shorter_than_twice_the_overlap():
    with pytest.raises(InputError) as err:
        plan_segments(40, 5, 5)
    message = str(err.value)
    assert "\n" not in message and "at most 4 segments" in message
    assert len(plan_segments(40, 4, 5)) == 4  # 10-frame cores: just enough
    with pytest.raises(InputError):
        plan_segments(3, 4, 0)
    with pytest.raises(InputError):
        plan_segments(30, 2, -1)


def test_crossfade_weights_rise_symmetrically_strictly_inside_0_1():
    w = crossfade_weights(4)
    assert w.shape == (8,)
    assert np.all(np.diff(w) > 0) and 0 < w[0] and w[-1] < 1
    assert np.allclose(w + w[::-1], 1.0)
    assert crossfade_weights(0).shape == (0,)


def test_blend_is_exact_where_the_two_agree():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    for weight in (0.01, 0.3, 0.5, 0.99):
        assert np.array_equal(blend(a, a.copy(), weight), a)
    b = np.full_like(a, 200)
    zero = np.zeros_like(a)
    assert np.array_equal(blend(zero, b, 0.25), np.full_like(a, 50))


def _coded(segment: Segment, closed: list | None = None):
    """Frames that say which frame they are (channel 0) and which segment made them (channel 1: 50 * index)."""
    try:
        for t in range(segment.read_start, segment.read_stop):
            frame = np.zeros((2, 2, 3), np.uint8)
            frame[..., 0] = t
            frame[..., 1] = 50 * segment.index
            yield frame
    finally:
        if closed is not None:
            closed.append(segment.index)


def test_stitch_yields_each_frame_once_in_order_and_crossfades_only_the_overlaps():
    frames, overlap = 60, 3
    plan = plan_segments(frames, 3, overlap)
    closed = []
    out = list(stitch(iter(plan), lambda s: _coded(s, closed)))
    assert len(out) == frames
    assert [int(f[0, 0, 0]) for f in out] == list(range(frames))  # every frame once, in order
    weights = crossfade_weights(overlap)
    for t, frame in enumerate(out):
        owner = next(s for s in plan if s.start <= t < s.stop)
        boundary = next((s.start for s in plan[1:] if abs(t - s.start + 0.5) < overlap), None)
        if boundary is None:
            assert frame[0, 0, 1] == 50 * owner.index  # one segment's frame, untouched
        else:
            later = next(s for s in plan if s.start == boundary).index
            w = weights[t - (boundary - overlap)]
            assert frame[0, 0, 1] == np.rint(50 * (later - 1) + w * 50)
    assert sorted(closed) == [0, 1, 2]  # every segment's stream was closed (its folder freed)


def test_stitch_without_overlap_is_a_plain_concatenation():
    plan = plan_segments(12, 4, 0)
    out = list(stitch(plan, _coded))
    assert [int(f[0, 0, 0]) for f in out] == list(range(12))
    assert [int(f[0, 0, 1]) for f in out] == [0] * 3 + [50] * 3 + [100] * 3 + [150] * 3


def test_stitch_refuses_a_segment_with_too_few_frames():
    plan = plan_segments(30, 3, 2)

    def short(segment):
        frames = list(_coded(segment))
        return frames[:-1] if segment.index == 1 else frames

    with pytest.raises(RuntimeError, match="segment 1 returned fewer"):
        list(stitch(plan, short))


def test_stitch_refuses_segments_with_a_gap_or_lopsided_overlap():
    a, b = Segment(0, 0, 10, 0, 12), Segment(1, 10, 20, 7, 20)
    with pytest.raises(ValueError, match="not contiguous"):
        list(stitch([a, b], _coded))
    with pytest.raises(ValueError, match="not contiguous"):
        list(stitch([Segment(0, 0, 10, 0, 12), Segment(1, 11, 20, 9, 20)], _coded))
