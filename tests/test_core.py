"""Quadmask helpers, clip windows, compositing and the engine registry."""

import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.clip import Clip, sliding_windows
from cleanplate.composite import composite
from cleanplate.engines import engine_names, get_engine
from cleanplate.errors import InputError


def test_snap_levels_maps_lossy_values_to_nearest_level():
    values = np.array([0, 20, 40, 63, 90, 100, 127, 180, 200, 255], np.uint8)
    assert quadmask.snap_levels(values).tolist() == [0, 0, 63, 63, 63, 127, 127, 127, 255, 255]


def test_quadmask_regions():
    q = np.array([0, 63, 127, 255], np.uint8)
    assert quadmask.object_region(q).tolist() == [True, True, False, False]
    assert quadmask.affected_region(q).tolist() == [False, False, True, False]
    assert quadmask.hole(q).tolist() == [True, True, True, False]


def test_dilate_quadmask_grows_object_over_affected_and_keep():
    q = np.full((9, 9), quadmask.KEEP, np.uint8)
    q[4, 4] = quadmask.REMOVE
    q[4, 6] = quadmask.AFFECTED
    out = quadmask.dilate_quadmask(q, 1)
    assert out[4, 5] == quadmask.REMOVE  # object ring wins over affected ring
    assert out[4, 7] == quadmask.AFFECTED
    assert out[0, 0] == quadmask.KEEP
    assert out[3, 4] == quadmask.REMOVE


@pytest.mark.parametrize("size,overlap", [(4, 1), (3, 0), (5, 4), (20, 2)])
def test_sliding_windows_cover_every_item_with_exact_overlap(size, overlap):
    items = list(range(11))
    windows = list(sliding_windows(items, size, overlap))
    covered = sorted({i for _, w in windows for i in w})
    assert covered == items
    for start, w in windows:
        assert w == items[start:start + size]
    for (s0, w0), (s1, _) in zip(windows, windows[1:]):
        assert s0 + len(w0) - s1 == overlap


def test_composite_leaves_pixels_outside_hole_bit_exact():
    rng = np.random.default_rng(1)
    original = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    filled = np.zeros_like(original)
    q = np.full((16, 16), quadmask.KEEP, np.uint8)
    q[4:12, 4:12] = quadmask.REMOVE
    out = composite(original, filled, q, feather=2)
    outside = q == quadmask.KEEP
    assert np.array_equal(out[outside], original[outside])
    assert (out[6:10, 6:10] == 0).all()  # deep inside: the fill, exactly
    edge = out[4, 8].astype(int)
    assert 0 < edge.sum() < original[4, 8].astype(int).sum() + 1  # the ramp blends at the edge


def test_unknown_engine_names_the_choices():
    with pytest.raises(InputError, match="choose one of"):
        get_engine("nope")


def test_unknown_engine_option_names_the_valid_ones():
    with pytest.raises(InputError, match="radius"):
        get_engine("telea")(nonsense=1)


def test_baselines_are_registered():
    assert {"telea", "median", "input"} <= set(engine_names())


def test_median_engine_recovers_static_background_behind_moving_square(square_clip):
    video, masks, background = square_clip
    static = np.repeat(background[:1], len(video), axis=0)
    video = static.copy()
    video[masks] = (255, 0, 0)
    clip = Clip.from_arrays(video, masks)
    out = np.stack(list(get_engine("median")().fill(clip)))
    # Every hole pixel is visible in some other frame, and the background is static.
    assert np.array_equal(out[masks], static[masks])
