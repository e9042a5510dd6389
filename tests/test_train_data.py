"""Training samples: side-effect masks (eqs. 1-2), keyframes (sec. 3.4), sources and the stream."""

import cv2
import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.errors import InputError
from cleanplate.train.config import TrainConfig, from_dict
from cleanplate.train.data import FolderPairs, IterableSource, TrainStream, as_source, build_source
from cleanplate.train.keyframes import draw_stride, keyframe_indices, replace_keyframes
from cleanplate.train.sample import check_sample, difference_mask, fit_clip, prepare_sample, side_effect_mask


def test_difference_mask_thresholds_the_rgb_distance_in_unit_range():
    gt = np.zeros((1, 5, 3), np.uint8)
    ori = np.array([[[26, 0, 0], [25, 0, 0], [15, 15, 15], [14, 14, 14], [0, 0, 0]]], np.uint8)
    # 26/255 = 0.102 > 0.1; 25/255 = 0.098; sqrt(3) * 15/255 = 0.102; sqrt(3) * 14/255 = 0.095.
    assert difference_mask(ori, gt, 0.1).tolist() == [[True, False, True, False, False]]
    assert difference_mask(gt, ori, 0.1).tolist() == [[True, False, True, False, False]]  # symmetric


def test_side_effect_mask_is_the_difference_outside_the_object():
    gt = np.zeros((1, 1, 3, 3), np.uint8)
    ori = np.full_like(gt, 200)
    obj = np.array([[[True, False, False]]])
    assert side_effect_mask(ori, gt, obj).tolist() == [[[False, True, True]]]


def test_keyframes_put_ground_truth_at_the_strided_frames_with_a_zero_mask():
    rng = np.random.default_rng(0)
    t = 11
    sample = {"input": rng.integers(0, 256, (t, 4, 4, 3), dtype=np.uint8),
              "gt": rng.integers(0, 256, (t, 4, 4, 3), dtype=np.uint8),
              "mask": np.ones((t, 4, 4), bool), "side": np.ones((t, 4, 4), bool),
              "quadmask": np.full((t, 4, 4), quadmask.REMOVE, np.uint8)}
    out = replace_keyframes(sample, 4)
    keys = [0, 4, 8]
    assert keyframe_indices(t, 4).tolist() == keys
    others = [i for i in range(t) if i not in keys]
    assert np.array_equal(out["input"][keys], sample["gt"][keys])
    assert np.array_equal(out["input"][others], sample["input"][others])
    assert (out["quadmask"][keys] == quadmask.KEEP).all() and (out["quadmask"][others] == quadmask.REMOVE).all()
    assert not out["mask"][keys].any() and out["mask"][others].all()
    assert not out["side"][keys].any() and out["side"][others].all()
    assert (sample["quadmask"] == quadmask.REMOVE).all()  # the input sample is left as it was
    assert out["stride"] == 4
    assert np.array_equal(replace_keyframes(sample, 0)["input"], sample["input"])


def test_strides_are_drawn_from_two_to_ten():
    rng = np.random.default_rng(0)
    draws = [draw_stride(rng) for _ in range(500)]
    assert set(draws) == set(range(2, 11))
    assert {draw_stride(rng, probability=0.0) for _ in range(20)} == {0}


def test_prepare_sample_uses_a_given_side_mask_or_finds_one():
    rng = np.random.default_rng(0)
    gt = np.zeros((3, 8, 8, 3), np.uint8)
    video = gt.copy()
    video[:, 2:4, 2:4] = 255  # the object
    video[:, 5:7, 5:7] = 100  # its shadow
    obj = np.zeros((3, 8, 8), bool)
    obj[:, 2:4, 2:4] = True
    found = prepare_sample({"input": video, "gt": gt, "mask": obj}, rng, frames=3, height=8, width=8,
                           keyframe_probability=0)
    assert found["side"].sum() == 3 * 4 and found["side"][:, 5:7, 5:7].all()
    assert (found["quadmask"][:, 5:7, 5:7] == quadmask.AFFECTED).all()
    assert (found["quadmask"][:, 2:4, 2:4] == quadmask.REMOVE).all()
    given = np.zeros_like(obj)
    given[:, 0, 0] = True
    used = prepare_sample({"input": video, "gt": gt, "mask": obj, "side": given}, rng, frames=3, height=8,
                          width=8, keyframe_probability=0)
    assert np.array_equal(used["side"], given)


def test_fit_clip_cuts_a_window_and_resizes():
    video = np.zeros((10, 16, 32, 3), np.uint8)
    video[:, :, 16:] = 200
    sample = {"input": video, "gt": video, "mask": np.zeros((10, 16, 32), bool)}
    out = fit_clip(sample, 4, 8, 8, np.random.default_rng(0))
    assert out["input"].shape == (4, 8, 8, 3) and out["mask"].shape == (4, 8, 8)
    with pytest.raises(InputError, match="fewer than data.frames"):
        fit_clip(sample, 11, 8, 8, np.random.default_rng(0))


def test_bad_samples_name_the_key_and_layout():
    video = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="neither 'mask' nor 'quadmask'"):
        check_sample({"input": video, "gt": video})
    with pytest.raises(InputError, match=r"\['gt'\]"):
        check_sample({"input": video, "gt": video[:1], "mask": np.zeros((2, 4, 4), bool)})
    with pytest.raises(InputError, match=r"\['input'\].*uint8"):
        check_sample({"input": video.astype(float), "gt": video, "mask": np.zeros((2, 4, 4), bool)})
    q = np.full((2, 4, 4), quadmask.KEEP, np.uint8)
    q[0, 0, 0] = quadmask.OVERLAP
    assert check_sample({"input": video, "gt": video, "quadmask": q})["mask"].sum() == 1


def tiny_config(**data):
    return from_dict({"data": {"frames": 5, "height": 16, "width": 16, "batch_size": 2, **data}, "seed": 3})


def test_stream_is_a_function_of_seed_and_position():
    pytest.importorskip("torch")  # the toy source lives beside the toy model
    config = tiny_config(kind="toy")
    a = TrainStream(build_source(config.data), config)
    b = TrainStream(build_source(config.data), config)
    later = a.batches(0)
    first, second = next(later), next(later)
    resumed = next(b.batches(2))
    for key in first:
        assert np.array_equal(second[key], resumed[key])
    assert not np.array_equal(first["input"], second["input"])
    assert first["input"].shape == (2, 5, 16, 16, 3) and first["quadmask"].dtype == np.uint8


def test_finite_sources_are_visited_once_per_epoch_in_a_seeded_order():
    config = tiny_config()
    stream = TrainStream([{"id": i} for i in range(5)], config)
    epochs = [sorted(stream.index_of(k) for k in range(e * 5, e * 5 + 5)) for e in range(3)]
    assert epochs == [list(range(5))] * 3
    assert [stream.index_of(k) for k in range(5)] != [stream.index_of(k) for k in range(5, 10)]


def test_iterable_sources_resume_by_skipping():
    source = IterableSource(range(100))
    assert source.read(3, None) == 3 and source.read(4, None) == 4
    assert source.read(1, None) == 1  # goes back by restarting
    with pytest.raises(InputError, match="ran out"):
        IterableSource(range(2)).read(2, None)
    assert as_source(lambda i: i * 2).read(5, None) == 10


def test_python_source_names_a_factory():
    pytest.importorskip("torch")
    config = tiny_config(kind="python", path="cleanplate.train.toy:ToyPairs", options={"frames": 5, "seed": 1})
    sample = build_source(config.data).read(0, None)
    assert sample["input"].shape == (5, 32, 32, 3)
    with pytest.raises(InputError, match="cannot be imported"):
        build_source(tiny_config(kind="python", path="no.such.module:f").data)


def write_frames(folder, frames):
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.png"), frame[..., ::-1] if frame.ndim == 3 else frame)


def test_folder_pairs_reads_a_window_of_frames_masks_and_ground_truth(tmp_path):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (6, 8, 10, 3), dtype=np.uint8)
    gt = rng.integers(0, 256, (6, 8, 10, 3), dtype=np.uint8)
    mask = np.zeros((6, 8, 10), np.uint8)
    mask[:, 2:4, 3:5] = 255
    pair = tmp_path / "pairs" / "clip-1"
    write_frames(pair / "input", video)
    write_frames(pair / "gt", gt)
    write_frames(pair / "mask", mask)
    source = FolderPairs(tmp_path / "pairs", frames=4)
    assert len(source) == 1
    rng = np.random.default_rng(7)
    start = int(np.random.default_rng(7).integers(0, 3))
    sample = source.read(0, rng)
    assert np.array_equal(sample["input"], video[start:start + 4])
    assert np.array_equal(sample["gt"], gt[start:start + 4])
    assert np.array_equal(sample["mask"], mask[start:start + 4] > 0)
    assert "side" not in sample


def test_folder_pairs_say_what_is_missing(tmp_path):
    pair = tmp_path / "pairs" / "clip-1"
    write_frames(pair / "input", np.zeros((3, 8, 8, 3), np.uint8))
    cv2.imwrite(str(pair / "mask.png"), np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match="has no gt"):
        FolderPairs(tmp_path / "pairs", frames=2)
    write_frames(pair / "gt", np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(InputError, match="aligned"):
        FolderPairs(tmp_path / "pairs", frames=2)
    with pytest.raises(InputError, match="not a folder"):
        FolderPairs(tmp_path / "nothing", frames=2)
