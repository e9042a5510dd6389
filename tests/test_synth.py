"""The synthetic paired-clip generator: determinism, masks that match the pixels, files on disk."""

import json

import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.bench.synth import (CATEGORIES, SIDE_THRESHOLD, SynthDataset, dataset_specs, generate_clip,
                                    parse_size, sample_spec, write_dataset)
from cleanplate.errors import InputError, OutputError

SIZE = (96, 64)


@pytest.mark.parametrize("category", CATEGORIES)
def test_same_seed_gives_the_same_clip(category):
    a = generate_clip(4, category, SIZE, 5)
    b = generate_clip(4, category, SIZE, 5)
    for key in ("input", "gt", "object", "side"):
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    assert a.meta == b.meta


def test_other_seed_gives_another_clip():
    a = generate_clip(1, "shadow", SIZE, 3)
    b = generate_clip(2, "shadow", SIZE, 3)
    assert not np.array_equal(a.input, b.input)


@pytest.mark.parametrize("category", CATEGORIES)
def test_input_equals_gt_outside_object_and_side_effect(category):
    clip = generate_clip(7, category, SIZE, 6)
    assert clip.input.shape == (6, 64, 96, 3) and clip.input.dtype == np.uint8
    assert clip.gt.shape == clip.input.shape and clip.gt.dtype == np.uint8
    assert clip.object.dtype == bool and clip.side.dtype == bool
    assert not (clip.object & clip.side).any()
    diff = np.abs(clip.input.astype(int) - clip.gt.astype(int)).max(-1)
    keep = ~(clip.object | clip.side)
    assert diff[keep].max() <= SIDE_THRESHOLD
    assert (diff[clip.side] > SIDE_THRESHOLD).all()  # the side mask is exactly what changed clearly


def test_quadmask_levels_mark_object_and_side_effect():
    clip = generate_clip(3, "shadow", SIZE, 4)
    q = clip.quadmask
    assert set(np.unique(q)) <= {quadmask.REMOVE, quadmask.AFFECTED, quadmask.KEEP}
    assert np.array_equal(q == quadmask.REMOVE, clip.object)
    assert np.array_equal(q == quadmask.AFFECTED, clip.side)


@pytest.mark.parametrize("category,motion", [("shadow", "crossing"), ("reflection", "crossing"),
                                             ("light_source", "static"), ("mirror", "crossing"),
                                             ("translucent", "static")])
def test_side_effect_categories_have_a_side_effect(category, motion):
    clip = generate_clip(0, category, (128, 80), 4, camera="static", motion=motion)
    assert clip.object.any()
    assert clip.side.any()


def test_common_category_has_no_side_effect():
    clip = generate_clip(5, "common", SIZE, 4)
    assert clip.object.any() and not clip.side.any()


def test_shadow_darkens_multiplicatively_and_keeps_texture():
    clip = generate_clip(0, "shadow", (160, 96), 4, camera="static", motion="static")
    inp = clip.input.astype(float)[clip.side].mean(-1)
    gt = clip.gt.astype(float)[clip.side].mean(-1)
    assert (inp <= gt + 1).all()  # darker (rounding aside)
    ratio = inp / np.maximum(gt, 1)
    assert 0.2 < np.median(ratio) < 0.95
    assert np.corrcoef(inp, gt)[0, 1] > 0.8  # the ground's texture shows through


def test_light_brightens():
    clip = generate_clip(0, "light_source", (128, 80), 3, camera="static", motion="static")
    inp = clip.input.astype(int)[clip.side].sum(-1)
    gt = clip.gt.astype(int)[clip.side].sum(-1)
    assert (inp >= gt).mean() > 0.99


def test_static_camera_gives_a_static_background_and_pan_moves_it():
    still = generate_clip(2, "common", SIZE, 4, camera="static", motion="crossing")
    assert all(np.array_equal(still.gt[0], g) for g in still.gt[1:])
    pan = generate_clip(2, "common", SIZE, 4, camera="pan", motion="crossing")
    assert not np.array_equal(pan.gt[0], pan.gt[-1])


def test_entering_and_leaving_objects_are_outside_the_frame_at_one_end():
    entering = generate_clip(1, "common", SIZE, 6, camera="static", motion="entering")
    assert not entering.object[0].any() and entering.object[-1].any()
    leaving = generate_clip(1, "common", SIZE, 6, camera="static", motion="leaving")
    assert leaving.object[0].any() and not leaving.object[-1].any()


def test_meta_names_the_clip():
    clip = generate_clip(9, "mirror", SIZE, 3, camera="zoom", motion="rotating")
    m = clip.meta
    assert (m["category"], m["camera"], m["motion"], m["seed"], m["frames"], m["size"]) == \
        ("mirror", "zoom", "rotating", 9, 3, [96, 64])
    json.dumps(m)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="category"):
        sample_spec(0, "smoke")
    with pytest.raises(ValueError, match="camera"):
        sample_spec(0, "shadow", camera="dolly")
    with pytest.raises(InputError, match="WIDTHxHEIGHT"):
        parse_size("320")
    assert parse_size("320x192") == (320, 192)


def test_write_dataset_round_trips_through_files(tmp_path):
    from cleanplate.io import open_video

    paths = write_dataset(tmp_path / "data", clips=2, seed=3, size=(48, 32), frames=3)
    assert [p.name for p in paths] == ["000_common", "001_shadow"]
    clip = generate_clip(4, "shadow", (48, 32), 3)
    folder = paths[1]
    assert np.array_equal(np.stack(list(open_video(folder / "input"))), clip.input)
    assert np.array_equal(np.stack(list(open_video(folder / "gt"))), clip.gt)
    assert np.array_equal(np.stack([f[..., 0] > 127 for f in open_video(folder / "mask")]), clip.object)
    assert np.array_equal(np.stack([f[..., 0] > 127 for f in open_video(folder / "side")]), clip.side)
    q = np.stack([f[..., 0] for f in open_video(folder / "quadmask.mp4")])
    assert np.array_equal(quadmask.snap_levels(q), clip.quadmask)
    assert open_video(folder / "input.mp4").info.num_frames == 3
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["category"] == "shadow" and meta["seed"] == 4 and meta["frames"] == 3
    with pytest.raises(OutputError, match="already exists"):
        write_dataset(tmp_path / "data", clips=1, seed=3, size=(48, 32), frames=3)


def test_dataset_specs_cycle_categories_and_seeds():
    specs = dataset_specs(8, seed=10, size=(32, 32), frames=2)
    assert [s.category for _, s in specs] == list(CATEGORIES) + list(CATEGORIES[:2])
    assert [s.seed for _, s in specs] == list(range(10, 18))


def test_synth_dataset_items_match_generate_clip():
    data = SynthDataset(seed=5, length=4, size=(48, 32), frames=2, categories=("shadow", "mirror"))
    assert len(data) == 4
    item = data[3]
    ref = generate_clip(8, "mirror", (48, 32), 2)
    assert np.array_equal(item.input, ref.input) and np.array_equal(item.side, ref.side)
    assert np.array_equal(data[-1].gt, item.gt)
    with pytest.raises(IndexError):
        data[4]


def test_synth_dataset_as_torch():
    torch = pytest.importorskip("torch")
    data = SynthDataset(seed=0, length=2, size=(48, 32), frames=3).torch()
    item = data[1]
    assert item["input"].shape == (3, 3, 32, 48) and item["input"].dtype == torch.float32
    assert float(item["gt"].max()) <= 1.0 and item["quadmask"].shape == (3, 32, 48)
    assert item["category"] == "shadow"
