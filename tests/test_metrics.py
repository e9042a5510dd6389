"""Metrics against values computed by hand."""

import math

import numpy as np
import pytest

from cleanplate.bench import metrics
from cleanplate.errors import InputError


def test_psnr_by_hand():
    a = np.zeros((4, 4, 3), np.uint8)
    b = np.full((4, 4, 3), 10, np.uint8)
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 100))


def test_masked_psnr_is_mse_over_region_pixels_only():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[:2] = 20  # error 20 in the top half, none in the bottom half
    top = np.zeros((4, 4), bool)
    top[:2] = True
    assert metrics.psnr(a, b, top) == pytest.approx(10 * math.log10(255 ** 2 / 400))
    assert metrics.psnr(a, b, ~top) == metrics.PSNR_CAP
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 200))
    assert metrics.psnr(a, b, np.zeros((4, 4), bool)) is None


def test_psnr_pools_squared_error_over_frames():
    a = np.zeros((2, 4, 4, 3), np.uint8)
    b = a.copy()
    b[0] = 10  # MSE 100 in frame 0, 0 in frame 1 -> pooled MSE 50
    assert metrics.psnr(a, b) == pytest.approx(10 * math.log10(255 ** 2 / 50))


def test_ssim_of_constant_images_by_hand():
    a = np.full((16, 16, 3), 100, np.uint8)
    b = np.full((16, 16, 3), 110, np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100 ** 2 + 110 ** 2 + c1)  # variances are 0: contrast term is 1
    assert metrics.ssim(a, b) == pytest.approx(expected, abs=1e-9)
    assert metrics.ssim(a, a) == pytest.approx(1.0)


def test_ssim_map_matches_wang_et_al_reference_inside_the_border():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    _, full = skm.structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                        data_range=255, channel_axis=-1, full=True)
    ours = metrics.ssim_map(a, b)
    assert np.allclose(ours[5:-5, 5:-5], full.mean(-1)[5:-5, 5:-5], atol=1e-6)


def test_masked_ssim_is_the_mean_of_the_map_over_the_region():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (2, 20, 20, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + 30, 0, 255).astype(np.uint8)
    region = np.zeros((2, 20, 20), bool)
    region[0, 5:10, 5:10] = True
    region[1, 0:3, :] = True
    maps = [metrics.ssim_map(a[t], b[t]) for t in range(2)]
    expected = np.concatenate([maps[0][region[0]], maps[1][region[1]]]).mean()
    assert metrics.ssim(a, b, region) == pytest.approx(expected)


def _shifted_texture(frames=4, h=24, w=32):
    rng = np.random.default_rng(2)
    base = rng.integers(20, 200, (h, w + frames, 3)).astype(np.uint8)
    # Frame t+1 is frame t moved right by one pixel: its pixel x came from x - 1.
    return np.stack([base[:, frames - t:frames - t + w] for t in range(frames)])


def _exact_flows(frames):
    t, h, w = frames.shape[:3]
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0] = -1.0
    valid = np.ones((h, w), bool)
    valid[:, 0] = False  # came from outside the frame
    return [(flow, valid)] * (t - 1)


def test_warp_error_is_zero_for_a_consistent_video():
    frames = _shifted_texture()
    assert metrics.warp_error(frames, _exact_flows(frames)) == pytest.approx(0.0, abs=1e-10)


def test_warp_error_of_flicker_by_hand():
    frames = _shifted_texture()
    flicker = frames.astype(int)
    flicker[1::2] += 10  # every other frame 10 levels brighter
    flicker = flicker.astype(np.uint8)
    expected = 3 * (10 / 255) ** 2  # squared difference summed over the three channels
    assert metrics.warp_error(flicker, _exact_flows(frames)) == pytest.approx(expected, rel=1e-5)
    region = np.zeros(frames.shape[:3], bool)
    region[:, :5, :5] = True
    assert metrics.warp_error(flicker, _exact_flows(frames), region) == pytest.approx(expected, rel=1e-5)
    assert metrics.warp_error(flicker, _exact_flows(frames), np.zeros_like(region)) is None


def test_reference_flows_find_the_motion_and_the_occluded_edge():
    import cv2

    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (12, 20, 3)).astype(np.uint8)
    big = cv2.resize(small, (160, 96), interpolation=cv2.INTER_CUBIC)
    frames = np.stack([big[:, 8 - 2 * t:8 - 2 * t + 120] for t in range(3)])  # 2 px right a frame
    flows = metrics.reference_flows(frames)
    assert len(flows) == 2
    flow, valid = flows[0]
    inner = flow[10:-10, 10:-10]
    assert np.median(inner[..., 0]) == pytest.approx(-2.0, abs=0.1)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.1)
    assert valid[10:-10, 10:-10].mean() > 0.95
    assert not valid[:, 0].any()  # pixels that came from outside the frame


def test_frame_count_and_size_mismatches_fail_loudly():
    a = np.zeros((3, 8, 8, 3), np.uint8)
    with pytest.raises(InputError, match="2 frames but the ground truth has 3"):
        metrics.check_same_frames(a[:2], a)
    with pytest.raises(InputError, match="8x4"):
        metrics.check_same_frames(a[:, :4], a)
    with pytest.raises(InputError):
        metrics.evaluate_clip(a[:2], a, np.zeros((3, 8, 8), bool), np.zeros((3, 8, 8), bool))


def test_evaluate_clip_names_every_metric_and_regions():
    frames = _shifted_texture(frames=3)
    out = frames.copy()
    out[:, :4, :4] = 0
    obj = np.zeros(frames.shape[:3], bool)
    obj[:, :4, :4] = True
    side = np.zeros_like(obj)
    scores = metrics.evaluate_clip(out, frames, obj, side)
    assert set(scores) == set(metrics.METRIC_KEYS)
    assert scores["psnr_keep"] == metrics.PSNR_CAP
    assert scores["psnr_object"] == pytest.approx(metrics.psnr(out, frames, obj))
    assert scores["psnr_side"] is None and scores["ssim_side"] is None
    assert scores["psnr_hole"] == scores["psnr_object"]
    assert scores["lpips"] is None
    assert scores["ewarp"] > 0


def test_evaluate_unpaired_scores_only_the_keep_region_and_consistency():
    frames = _shifted_texture(frames=3)
    obj = np.zeros(frames.shape[:3], bool)
    obj[:, 2:6, 2:6] = True
    scores = metrics.evaluate_unpaired(frames, frames, obj)
    assert scores["psnr_keep"] == metrics.PSNR_CAP and scores["ssim_keep"] == pytest.approx(1.0)
    assert scores["psnr"] is None and scores["psnr_object"] is None and scores["lpips"] is None
    assert scores["ewarp"] is not None


# -- LPIPS and VFID: networks defined here, weights only from a local path ------------------------
def _save_lpips_weights(folder, torch):
    from cleanplate.bench.lpips import build_network

    torch.manual_seed(0)
    net = build_network()
    state = net.state_dict()
    backbone = {k: v for k, v in state.items() if k.startswith("features.")}
    heads = {k: v.abs() for k, v in state.items() if k.startswith("lin")}
    torch.save(backbone, folder / "alexnet.pth")
    torch.save(heads, folder / "alex.pth")
    return backbone, heads


def test_lpips_loads_local_weights_and_behaves_like_a_distance(tmp_path):
    torch = pytest.importorskip("torch")
    from cleanplate.bench.lpips import load_lpips

    backbone, heads = _save_lpips_weights(tmp_path, torch)
    model = load_lpips(tmp_path)
    loaded = model.net.state_dict()
    assert torch.equal(loaded["features.3.weight"], backbone["features.3.weight"])
    assert torch.equal(loaded["lin2.model.1.weight"], heads["lin2.model.1.weight"])
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert model(a, a) == pytest.approx(0.0, abs=1e-7)
    assert model(a, b) > 0
    assert model(a, b) == pytest.approx(model(b, a), rel=1e-5)
    assert model.clip(np.stack([a, a]), np.stack([a, b])) == pytest.approx(model(a, b) / 2, rel=1e-5)


def test_lpips_without_weights_is_unavailable_and_bad_weights_are_named(tmp_path):
    from cleanplate.bench.lpips import load_lpips

    assert load_lpips(None) is None
    torch = pytest.importorskip("torch")
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "partial.pth")
    with pytest.raises(InputError, match="lacks LPIPS weights"):
        load_lpips(tmp_path / "partial.pth")


def test_frechet_distance_by_hand():
    from cleanplate.bench.vfid import frechet_distance

    a = np.array([[0.0], [2.0]])  # mean 1, variance 2
    b = np.array([[1.0], [3.0]])  # mean 2, variance 2
    assert frechet_distance(a, b) == pytest.approx(1.0)  # (1-2)^2 + 2 + 2 - 2*sqrt(2*2)
    c = np.array([[0.0], [4.0]])  # mean 2, variance 8
    assert frechet_distance(a, c) == pytest.approx(1 + 2 + 8 - 2 * 4.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(x, x + [1.0, 2.0, 0.0]) == pytest.approx(5.0, abs=1e-6)


def test_i3d_features_from_local_weights(tmp_path):
    torch = pytest.importorskip("torch")
    from cleanplate.bench.vfid import FEATURES, build_i3d, load_i3d, vfid

    assert load_i3d(None) is None
    torch.manual_seed(0)
    state = {k: v for k, v in build_i3d().state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "rgb_imagenet.pt")
    model = load_i3d(tmp_path / "rgb_imagenet.pt")
    clip = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    f = model(clip)
    assert f.shape == (FEATURES,) and np.isfinite(f).all()
    assert np.array_equal(f, model(clip))
    assert vfid([f], [f]) is None  # one clip: no distribution to compare
    torch.save({"Conv3d_1a_7x7.conv3d.weight": torch.zeros(1)}, tmp_path / "bad.pt")
    with pytest.raises(InputError, match="lacks I3D weights"):
        load_i3d(tmp_path / "bad.pt")
