"""Flow-matching schedules, prior injection and Gaussian-preserving warped noise."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from cleanplate.engines.diffusion.prior import noise_to_level  # noqa: E402
from cleanplate.engines.diffusion.sampling import (make_scheduler, set_schedule, shift_sigma,  # noqa: E402
                                                   unshift_sigma)
from cleanplate.engines.diffusion.warped_noise import warp_noise, warped_noise_like  # noqa: E402
from conftest import make_square_clip  # noqa: E402


def test_shift_and_its_inverse():
    t = np.linspace(0, 1, 11)
    s = shift_sigma(t, 3.0)
    assert s[0] == 0 and s[-1] == 1 and np.all(s >= t)  # more time at high noise
    np.testing.assert_allclose(unshift_sigma(s, 3.0), t, atol=1e-12)
    assert shift_sigma(0.5, 3.0) == pytest.approx(0.75)


@pytest.mark.parametrize("sampler", ["euler", "unipc"])
@pytest.mark.parametrize("strength", [1.0, 0.6, 0.2])
def test_schedule_starts_at_the_strength_and_ends_at_zero(sampler, strength):
    scheduler = make_scheduler(sampler, shift=3.0)
    timesteps = set_schedule(scheduler, 5, strength)
    sigmas = scheduler.sigmas.numpy()
    assert len(timesteps) == 5 and len(sigmas) == 6
    assert sigmas[0] == pytest.approx(strength, abs=2e-6)
    assert sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0)
    base = np.linspace(unshift_sigma(strength, 3.0), 0, 6)[:-1]
    np.testing.assert_allclose(sigmas[1:-1], shift_sigma(base, 3.0)[1:], rtol=1e-5)


@pytest.mark.parametrize("sampler", ["euler", "unipc"])
def test_sampler_follows_a_straight_path_to_x0(sampler):
    """With the exact velocity of a straight path, every sampler lands on x0 (a check of the wiring)."""
    x0, noise = torch.randn(1, 4, 2, 3, 3), torch.randn(1, 4, 2, 3, 3)
    scheduler = make_scheduler(sampler, shift=3.0)
    timesteps = set_schedule(scheduler, 6, 0.7)
    x = noise_to_level(x0, noise, float(scheduler.sigmas[0]))
    for t in timesteps:
        x = scheduler.step(noise - x0, t, x, return_dict=False)[0]
    torch.testing.assert_close(x, x0, rtol=1e-4, atol=1e-4)


def test_noise_to_level_is_the_rectified_flow_path():
    x0, noise = torch.ones(3), torch.zeros(3)
    assert torch.equal(noise_to_level(x0, noise, 0.0), x0)
    assert torch.equal(noise_to_level(x0, noise, 1.0), noise)
    assert torch.allclose(noise_to_level(x0, noise, 0.25), torch.full((3,), 0.75))


def test_schedule_rejects_strength_zero():
    with pytest.raises(ValueError, match="strength"):
        set_schedule(make_scheduler("euler", 3.0), 4, 0.0)


# -- warped noise -----------------------------------------------------------------------------------

def _lag1(x: torch.Tensor) -> float:
    """Mean correlation of horizontally adjacent values, over channels."""
    a, b = x[:, :, :-1].flatten(), x[:, :, 1:].flatten()
    return float(torch.corrcoef(torch.stack([a, b]))[0, 1])


def _zoom_flow(h, w, factor=0.6):
    """Backward flow of a zoom-in: many target pixels come from few source pixels."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    return np.stack([(cx + factor * (xs - cx)) - xs, (cy + factor * (ys - cy)) - ys], -1)


def test_warped_noise_stays_standard_gaussian_without_spatial_correlation():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(16, 48, 48, generator=g)
    flow = _zoom_flow(48, 48)
    warped = warp_noise(noise, flow, g)
    assert abs(float(warped.mean())) < 0.02
    assert abs(float(warped.var()) - 1.0) < 0.03
    assert abs(float((warped.abs() > 2).float().mean()) - 0.0455) < 0.006  # Gaussian tails
    assert abs(_lag1(warped)) < 0.03
    # Plain nearest-neighbour warping of the same field copies values to neighbours:
    ys, xs = np.mgrid[0:48, 0:48]
    sx, sy = np.rint(xs + flow[..., 0]).astype(int), np.rint(ys + flow[..., 1]).astype(int)
    assert _lag1(noise[:, sy, sx]) > 0.3


def test_warped_noise_moves_with_the_flow():
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(4, 32, 32, generator=g)
    flow = np.zeros((32, 32, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0  # each pixel came from 3 right, 2 up
    warped = warp_noise(noise, flow, g)
    assert torch.equal(warped[:, 2:, :29], noise[:, :30, 3:])  # carried along the flow, exactly
    assert abs(float(torch.corrcoef(torch.stack([warped.flatten(), noise.flatten()]))[0, 1])) < 0.05
    assert abs(float(warped[:, :2].var()) - 1) < 0.3  # disoccluded rows: fresh noise


def test_warped_noise_follows_the_motion_of_frames():
    video, _, _ = make_square_clip(frames=9, size=64, pan=2, square=1)  # pan 2 px/frame: 1 latent px per 4 frames
    noise = warped_noise_like(video, (1, 16, 3, 8, 8), seed=0)
    assert noise.shape == (1, 16, 3, 8, 8)
    a, b = noise[0, :, 0], noise[0, :, 1]
    carried = (b[:, :, :7] == a[:, :, 1:]).all(dim=0).float().mean()
    assert carried > 0.9
    assert torch.equal(warped_noise_like(video, (1, 16, 3, 8, 8), seed=0), noise)
