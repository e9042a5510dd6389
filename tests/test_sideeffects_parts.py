"""The pieces of side-effect estimation, each on a case whose answer is known."""

import cv2
import numpy as np
import pytest

from cleanplate.errors import InputError
from cleanplate.sideeffects import SideEffectConfig
from cleanplate.sideeffects import align
from cleanplate.sideeffects.background import masked_median
from cleanplate.clip import Clip
from cleanplate.sideeffects.reflections import mirror_region, symmetry_evidence
from cleanplate.sideeffects.relight import apply_gain, estimate_shading, relight_gain
from cleanplate.sideeffects.select import cap_region, contact_zone, grow_regions, keep_persistent
from cleanplate.sideeffects.shadows import chroma_kept, compare, shadow_evidence
from cleanplate.sideeffects.sideclip import _WindowReader, window_spans
from sidefx_clips import walking_block


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


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 24, 31, 40])
def test_masked_median_is_the_median_for_any_number_of_samples(n):
    # the selection network is built for each n: it must give the exact median (no sample excluded)
    rng = np.random.default_rng(n)
    stack = rng.integers(0, 256, (n, 9, 11, 3), dtype=np.uint8)
    median, known = masked_median(stack, np.zeros((n, 9, 11), bool), min_samples=1)
    assert np.array_equal(median, np.median(stack, axis=0).astype(np.float32))
    assert known.all()


@pytest.mark.parametrize("count", [20, 40])
def test_background_is_the_median_of_frames_spread_over_the_whole_window(count):
    from cleanplate.sideeffects.window import MEDIAN_FRAMES, AlignedWindow, WorkFrame

    empty = np.zeros((10, 12), bool)
    frames = [WorkFrame(np.full((10, 12, 3), 5 * i, np.uint8), empty, empty) for i in range(count)]
    win = AlignedWindow(frames)  # flat frames: no corners, a still camera
    sampled = np.asarray(win.sampled)
    if count <= MEDIAN_FRAMES:
        assert sampled.tolist() == list(range(count))
    else:
        assert len(sampled) == MEDIAN_FRAMES and sampled[0] == 0 and sampled[-1] == count - 1
        assert np.all(np.diff(sampled) >= 1) and np.diff(sampled).max() <= 2  # no gap: spread evenly
    median, known = win.background([~empty] * count)
    assert known.all()
    assert np.allclose(median, np.median(5.0 * sampled))


def test_temporal_spread_is_noise_where_aligned_and_texture_where_not():
    from cleanplate.sideeffects.window import temporal_spread

    rng = np.random.default_rng(1)
    texture = rng.integers(40, 216, (8, 40), dtype=np.uint8)
    aligned = np.repeat(texture[None], 9, axis=0).astype(np.int16)
    aligned[3:5, :, 10:20] -= 30  # a shadow passes over for two frames of nine
    aligned = np.clip(aligned + rng.integers(-1, 2, aligned.shape), 0, 255).astype(np.uint8)
    sliding = np.stack([np.roll(texture, k, axis=1) for k in range(-4, 5)])  # a layer left off by 1 px a frame
    excluded = np.zeros((9, 8, 40), bool)
    excluded[0:2, :, :5] = True  # the object: left out
    for stack, lo, hi in [(aligned, 0.0, 1.5), (sliding, 20.0, 255.0)]:
        rgb = np.repeat(stack[..., None], 3, axis=3)
        median = masked_median(rgb, excluded, 3)[0]
        spread = temporal_spread(rgb, median, excluded, 3)
        assert spread.shape == (8, 40) and lo <= np.median(spread) <= hi


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


def test_shared_decode_gives_the_same_stream_and_reads_the_source_once():
    """Holding a window of full-resolution frames for the analysis changes nothing in the output,
    and the source is decoded once instead of twice."""
    import numpy as np

    from cleanplate.clip import Clip
    from cleanplate.sideeffects import SideEffectConfig, add_side_effects, sideclip

    rng = np.random.default_rng(0)
    t, h, w = 30, 48, 64
    frames = np.full((t, h, w, 3), 150, np.uint8) + rng.integers(0, 20, (t, h, w, 3), dtype=np.uint8)
    masks = np.full((t, h, w), 255, np.uint8)
    for i in range(t):
        x = 4 + i
        masks[i, 10:26, x:x + 8] = 0
        frames[i, 10:26, x:x + 8] = 30
        frames[i, 26:32, x + 8:x + 24] //= 2  # its shadow
    opened = []

    def counted(clip):
        pairs = clip.pairs

        def wrapped():
            opened.append(1)
            return pairs()
        clip.pairs = wrapped
        return clip

    cfg = SideEffectConfig(window=12, overlap=4)
    shared = list(add_side_effects(counted(Clip.from_arrays(frames, masks, fps=25)), config=cfg).pairs())
    assert len(opened) == 1
    old = sideclip.SHARED_DECODE_BYTES
    sideclip.SHARED_DECODE_BYTES = 0
    try:
        opened.clear()
        separate = list(add_side_effects(counted(Clip.from_arrays(frames, masks, fps=25)), config=cfg).pairs())
    finally:
        sideclip.SHARED_DECODE_BYTES = old
    assert len(opened) == 2
    assert len(shared) == len(separate) == t
    assert sum(int((q == 127).sum()) for _, q in shared) > 0
    for (fa, qa), (fb, qb) in zip(shared, separate):
        assert np.array_equal(fa, fb) and np.array_equal(qa, qb)


def test_drop_mixed_keeps_a_shadow_and_drops_interleaved_texture():
    """Misaligned texture darkens and brightens side by side; a shadow only darkens."""
    import numpy as np

    from cleanplate.sideeffects.select import drop_mixed, mixed_pixels

    dark = np.zeros((20, 40), bool)
    bright = np.zeros((20, 40), bool)
    dark[5:15, 2:12] = True  # a shadow: a solid dark patch
    dark[5:15, 22:38:2] = True  # stripes: dark and bright columns alternate
    bright[5:15, 23:38:2] = True
    found = dark | bright
    kept = drop_mixed(found, mixed_pixels(dark, bright, reach=2), level=0.3)
    assert kept[5:15, 2:12].all()
    assert not kept[:, 20:].any()
    assert not kept[~found].any()


def test_no_light_evidence_on_a_black_background():
    """A bright speck that slides over a black sky is not a lamp: ratios of near-black are noise."""
    import numpy as np

    from cleanplate.clip import Clip
    from cleanplate.sideeffects import add_side_effects

    t, h, w = 20, 48, 64
    frames = np.full((t, h, w, 3), 4, np.uint8)
    masks = np.full((t, h, w), 255, np.uint8)
    for i in range(t):
        x = 4 + 2 * i
        masks[i, 20:36, x:x + 8] = 0
        frames[i, 20:36, x:x + 8] = 200
        frames[i, 10:14, x + 10:x + 14] = 60  # a glint that moves with the object, over black
    marked = [q for _, q in add_side_effects(Clip.from_arrays(frames, masks, fps=25)).pairs()]
    assert sum(int((q == 127).sum()) for q in marked) == 0


def test_mapped_side_effect_clip_pairs_match_its_separate_streams():
    """``map_masks`` on the side-effect clip keeps ``pairs()`` one stream, with the same values as
    its frames() and masks() streams."""
    import numpy as np

    from cleanplate import quadmask
    from cleanplate.clip import Clip
    from cleanplate.sideeffects import add_side_effects

    t = 16
    frames, masks = walking_block(t)
    side = add_side_effects(Clip.from_arrays(frames, masks, fps=25))
    mapped = side.map_masks(lambda q: quadmask.dilate_quadmask(q, 2)).map_masks(lambda q: q // 2)
    pairs = list(mapped.pairs())
    assert len(pairs) == t
    assert sum(int((q == 127 // 2).sum()) for _, q in pairs) > 0
    for (f, q), f2, q2 in zip(pairs, mapped.frames(), mapped.masks()):
        assert np.array_equal(f, f2) and np.array_equal(q, q2)


def test_temporal_evidence_is_computed_once_per_frame_and_matches_a_fresh_computation(monkeypatch):
    from cleanplate.sideeffects import estimate as est_mod
    from cleanplate.sideeffects.sideclip import SideEffectClip
    from sidefx_clips import make_clip

    clip = make_clip("shadow", pan=1, noise=2.0)
    config = SideEffectConfig()
    side = SideEffectClip(Clip.from_arrays(clip.video, clip.masks), config)
    frames = [side._work_frame(f, q) for f, q in side.source.pairs()]
    calls = []
    original = est_mod.WindowAnalysis._temporal_evidence

    def counted(self, i, *args):
        calls.append(i)
        return original(self, i, *args)

    monkeypatch.setattr(est_mod.WindowAnalysis, "_temporal_evidence", counted)
    cached = est_mod.analyse_window(frames, 0, len(frames), config, side.scale)
    assert sorted(calls) == list(range(len(frames)))  # once each, first guess and estimate alike

    plain_evidence = est_mod.WindowAnalysis.evidence

    def uncached(self, *args, **kwargs):
        self.forget()
        return plain_evidence(self, *args, **kwargs)

    monkeypatch.setattr(est_mod.WindowAnalysis, "evidence", uncached)
    fresh = est_mod.analyse_window(frames, 0, len(frames), config, side.scale)
    assert len(calls) > 2 * len(frames) - 1
    assert any(e.box is not None for e in cached)
    for a, b in zip(cached, fresh):
        assert a.box == b.box
        if a.box is not None:
            assert np.array_equal(a.soft, b.soft) and np.array_equal(a.gain, b.gain)


def test_relighting_on_the_kept_crop_equals_relighting_the_whole_search_zone():
    from cleanplate.sideeffects import estimate as est_mod
    from cleanplate.sideeffects.sideclip import SideEffectClip
    from cleanplate.sideeffects.window import grow
    from sidefx_clips import make_clip

    clip = make_clip("shadow", strength=0.6, noise=2.0)
    config = SideEffectConfig()
    side = SideEffectClip(Clip.from_arrays(clip.video, clip.masks), config)
    frames = [side._work_frame(f, q) for f, q in side.source.pairs()]
    win = est_mod.WindowAnalysis(frames, config, side.scale)
    background, known = win.background(win.zones)
    checked = 0
    for i in range(len(frames)):
        est = win.estimate(i, background, known, None)
        ev = win.evidence(i, background, known, spatial=True)
        if est.box is None:
            continue
        shading = estimate_shading(ev.frame, ev.shade_bg, ev.usable, est_mod.SHADING_SIGMA)
        confidence = cv2.GaussianBlur(ev.confidence * grow(ev.found, 1), (0, 0), est_mod.NOISE_SIGMA)
        whole = relight_gain(shading, confidence)
        (y0, y1, x0, x1), (Y0, _, X0, _) = est.box, ev.box
        assert np.array_equal(est.gain, whole[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0].astype(np.float16))
        checked += (est.gain != 1).any()
    assert checked >= len(frames) // 2


def test_a_second_stream_reuses_the_first_ones_marked_and_relit_frames(monkeypatch):
    """The engine and the compositor read the clip side by side: the frame each gets is the same as a
    single stream's, and each frame is marked and relit once, by whichever stream reads it first."""
    from cleanplate.sideeffects import add_side_effects, sideclip

    t = 24
    frames, masks = walking_block(t)
    cfg = SideEffectConfig(window=12, overlap=4)
    alone = list(add_side_effects(Clip.from_arrays(frames, masks, fps=25), config=cfg).pairs())
    assert any((f != frames[i]).any() for i, (f, _) in enumerate(alone))  # something is relit

    marked = []
    mark = sideclip.SideEffectClip.mark
    monkeypatch.setattr(sideclip.SideEffectClip, "mark", lambda self, q, est: marked.append(1) or mark(self, q, est))
    side = add_side_effects(Clip.from_arrays(frames, masks, fps=25), config=cfg)
    lead, lag = side.pairs(), side.pairs()
    ahead = [next(lead) for _ in range(5)]  # the leading stream stays five frames ahead
    for i in range(t):
        if i + 5 < t:
            ahead.append(next(lead))
        for (f, q), (f2, q2) in ((ahead.pop(0), alone[i]), (next(lag), alone[i])):
            assert np.array_equal(f, f2) and np.array_equal(q, q2)
    assert len(marked) == t
