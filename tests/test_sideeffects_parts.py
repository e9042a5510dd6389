"""The pieces of side-effect estimation, each on a case whose answer is known."""

import cv2
import numpy as np
import pytest

from cleanplate.errors import InputError
from cleanplate.sideeffects import SideEffectConfig
from cleanplate.sideeffects import align
from cleanplate.sideeffects.background import masked_median
from cleanplate.sideeffects.reflections import mirror_region, symmetry_evidence
from cleanplate.sideeffects.relight import apply_gain, estimate_shading, relight_gain
from cleanplate.sideeffects.select import cap_region, contact_zone, grow_regions, keep_persistent
from cleanplate.sideeffects.shadows import chroma_kept, compare, shadow_evidence
from cleanplate.sideeffects.sideclip import _WindowReader, window_spans


def test_masked_median_ignores_excluded_samples():
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 256, (10, 6, 7, 3), dtype=np.uint8)
    excluded = np.zeros((10, 6, 7), bool)
    excluded[2:6, :3] = True  # the object passes over for four frames: two even, two odd
    excluded[:, 0, 0] = [True] * 8 + [False] * 2  # two samples left: their mean
    excluded[:, 0, 1] = True  # none left
    median, known = masked_median(stack, excluded, min_samples=2)
    for y in range(6):
        for x in range(7):
            left = stack[~excluded[:, y, x], y, x]
            if len(left):
                assert np.array_equal(median[y, x], np.median(left, axis=0)), (y, x)
            assert known[y, x] == (len(left) >= 2)
    assert not known[0, 1]


@pytest.mark.parametrize("count,size,overlap", [(1, 5, 2), (5, 5, 2), (6, 5, 2), (23, 8, 3), (40, 60, 16), (17, 4, 0)])
def test_window_spans_keep_every_frame_once_with_context(count, size, overlap):
    kept = []
    spans = window_spans(count, size, overlap)
    for start, stop, lo, hi in spans:
        assert 0 < stop - start <= size and 0 <= lo < hi <= stop - start
        kept += range(start + lo, start + hi)
        if start > 0:
            assert lo == overlap // 2  # context before every kept frame but the clip's first ones
    assert kept == list(range(count))
    assert spans[-1][1] == count


def test_window_reader_serves_overlapping_windows_from_one_pass():
    reads = []

    def frames():
        for i in range(10):
            reads.append(i)
            yield i

    reader = _WindowReader(frames())
    assert reader.take(0, 4) == [0, 1, 2, 3]
    assert reader.take(3, 7) == [3, 4, 5, 6]
    assert reader.take(8, 12) == [8, 9]  # skips 7, stops at the end
    assert reader.take(2, 4) is None  # already gone: the caller opens a fresh stream
    assert reads == list(range(10))


def test_frame_motion_recovers_a_camera_shift_and_ignores_the_object():
    rng = np.random.default_rng(3)
    texture = cv2.GaussianBlur(rng.integers(0, 256, (90, 130)).astype(np.uint8), (0, 0), 1.5)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX)
    ref = texture[10:74, 10:106].copy()
    moved = texture[12:76, 13:109].copy()  # the camera moved 3 px right and 2 px down
    moved[20:40, 30:50] = 255 - moved[20:40, 30:50]  # an object that is not the scene
    usable = np.ones(ref.shape, bool)
    h = align.frame_motion(ref, moved, usable)
    point = cv2.perspectiveTransform(np.float32([[[50, 30]]]), h).ravel()
    assert np.allclose(point, [53, 32], atol=0.15)
    assert align.frame_motion(ref, ref, usable) is align.IDENTITY


def test_compare_separates_shading_from_a_change_of_colour():
    bg = np.full((1, 3, 3), (120.0, 80.0, 60.0), np.float32)
    frame = bg.copy()
    frame[0, 0] *= 0.5  # a shadow: darker, same colour
    frame[0, 1] = (60.0, 80.0, 60.0)  # darker by as much, another colour
    ratio, change = compare(frame, bg)
    kept = chroma_kept(change, SideEffectConfig())
    dark = shadow_evidence(ratio, kept, SideEffectConfig())
    assert ratio[0, 0] == pytest.approx(0.5, abs=0.02) and dark[0, 0] == 1.0
    assert dark[0, 1] == 0.0  # not a shadow
    assert dark[0, 2] == 0.0 and ratio[0, 2] == pytest.approx(1.0)


def test_mirror_region_reflects_the_object_about_its_lowest_row():
    obj = np.zeros((40, 20), bool)
    obj[5:20, 8:12] = True  # rows 5..19: the contact line is row 19
    obj[5:8, 4:16] = True  # a wide top, which mirrors to the bottom
    region, source = mirror_region(obj, margin=0.0)
    assert region[19:34, 8:12].all() and not region[35:].any()
    assert region[31:34, 4:16].all() and not region[25, 4]
    assert source[33, 8] == 5 and source[20, 9] == 18


def test_symmetry_evidence_sees_a_reflection_and_not_a_texture():
    rng = np.random.default_rng(1)
    frame = rng.uniform(80, 160, (40, 30, 3)).astype(np.float32)
    obj = np.zeros((40, 30), bool)
    obj[4:20, 10:20] = True
    frame[4:20, 10:20] = rng.uniform(0, 255, (16, 10, 3))
    region, source = mirror_region(obj, margin=0.0)
    plain = symmetry_evidence(frame, obj, region, source, SideEffectConfig())
    mirrored = frame.copy()
    mirrored[20:35, 10:20] = 0.5 * mirrored[20:35, 10:20] + 0.5 * frame[4:19, 10:20][::-1]
    seen = symmetry_evidence(mirrored, obj, region, source, SideEffectConfig())
    assert plain.max() < 0.2
    assert seen[25, 15] == 1.0


def test_grow_regions_needs_a_seed_an_area_and_if_asked_a_contact():
    ev = np.zeros((20, 40), np.float32)
    ev[2:8, 2:10] = 0.3
    ev[4, 4] = 0.9  # seeded
    ev[12:18, 2:10] = 0.3  # never clear: noise
    ev[2:8, 30:38] = 0.9  # seeded, far from the "object"
    found = grow_regions(ev, min_area=10)
    assert found[2:8, 2:10].all() and not found[12:18].any() and found[2:8, 30:38].all()
    assert not grow_regions(ev, min_area=100).any()
    obj = np.zeros_like(found)
    obj[2:8, 11:13] = True
    touching = grow_regions(ev, min_area=10, touch=obj)
    assert touching[2:8, 2:10].all() and not touching[2:8, 30:38].any()


def test_keep_persistent_drops_regions_the_neighbours_do_not_confirm():
    found = np.zeros((10, 20), bool)
    found[1:4, 1:4] = True
    found[6:9, 10:13] = True
    support = np.zeros((10, 20), np.float32)
    support[1:4, 1:4] = 0.75
    kept = keep_persistent(found, support, 0.5)
    assert kept[1:4, 1:4].all() and not kept[6:9].any()


def test_cap_region_keeps_the_strongest_then_the_nearest():
    soft = np.ones((1, 10), np.float32)
    soft[0, 9] = 0.5
    obj = np.zeros((1, 10), bool)
    obj[0, 0] = True
    chosen = ~obj
    kept, capped = cap_region(soft, chosen, obj, 3)
    assert capped and kept[0].tolist() == [False, True, True, True] + [False] * 6
    same, capped = cap_region(soft, chosen, obj, 9)
    assert not capped and same is chosen


def test_contact_zone_lies_around_the_base_not_above_it():
    obj = np.zeros((60, 60), bool)
    obj[10:40, 25:35] = True
    zone = contact_zone(obj, reach=10)
    assert zone[45, 30] and zone[38, 20] and not zone[20, 20] and not zone[55, 30]


def test_relighting_divides_a_known_shading_out_and_touches_nothing_else():
    rng = np.random.default_rng(2)
    plate = rng.uniform(60, 200, (20, 20, 3)).astype(np.float32)
    shading = np.ones((20, 20), np.float32)
    shading[5:15, 5:15] = 0.5
    frame = np.clip(plate * shading[..., None] + 0.5, 0, 255).astype(np.uint8)
    estimate = estimate_shading(frame.astype(np.float32), plate, np.ones((20, 20), bool), sigma=0.5)
    gain = relight_gain(estimate, np.ones((20, 20), np.float32))
    region = np.zeros((20, 20), bool)
    region[7:13, 7:13] = True
    out = apply_gain(frame, gain, region)
    assert np.abs(out[region].astype(float) - plate[region]).max() <= 2.0
    assert np.array_equal(out[~region], frame[~region])
    assert np.array_equal(apply_gain(frame, relight_gain(estimate, np.zeros((20, 20), np.float32)), region), frame)


def test_config_check_names_the_option():
    with pytest.raises(InputError, match="max_fraction"):
        SideEffectConfig(max_fraction=0).check()
    with pytest.raises(InputError, match="dark_strong"):
        SideEffectConfig(dark_weak=0.3, dark_strong=0.2).check()
    SideEffectConfig().check()
