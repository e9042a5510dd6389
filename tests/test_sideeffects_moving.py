"""Whether the object moves (:attr:`cleanplate.sideeffects.window.AlignedWindow.moving`), judged
against the ground it stands on, not the far scene the camera motion fits."""

import cv2
import numpy as np
import pytest

from cleanplate.sideeffects.window import AlignedWindow, WorkFrame

H, W, FRAMES = 80, 128, 11
HORIZON = 48  # rows above: a far backdrop; below: the ground
FOOT = 64  # the object's lowest row, where it stands
BACKDROP_SHIFT = 1.0  # pixels a frame the far backdrop moves under the pan


def ground_shift(row: np.ndarray) -> np.ndarray:
    """Pixels a frame a ground row moves under the pan: more the nearer it is (parallax); 2 at the foot."""
    return BACKDROP_SHIFT + (row - HORIZON) / 16.0


def panned_scene(own_motion: int, seed: int = 0) -> list[WorkFrame]:
    """A camera trucking over a far backdrop and a nearer ground, and an 8x20 block standing on the
    ground at row ``FOOT``; the block moves ``own_motion`` pixels a frame over that ground."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (H // 4 + 2, (W + 64) // 4, 3)).astype(np.uint8)
    texture = cv2.resize(small, (small.shape[1] * 4, small.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    rows = np.arange(H, dtype=np.float32)
    shift = np.where(rows < HORIZON, BACKDROP_SHIFT, ground_shift(rows)).astype(np.float32)
    map_y = np.repeat(rows[:, None], W, axis=1)
    frames = []
    for t in range(FRAMES):
        map_x = (np.arange(W, dtype=np.float32)[None] + shift[:, None] * t).astype(np.float32)
        image = cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR)
        x = 60 + (own_motion - int(ground_shift(np.float32(FOOT)))) * t  # the ground at the foot moves 2 a frame
        obj = np.zeros((H, W), bool)
        obj[FOOT - 19:FOOT + 1, x:x + 8] = True
        image[obj] = (200, 30, 30)
        frames.append(WorkFrame(image, obj, np.zeros((H, W), bool)))
    return frames


def test_still_object_on_near_ground_under_a_pan_is_not_moving():
    win = AlignedWindow(panned_scene(own_motion=0))
    assert not win.still  # the camera moves ...
    # ... and fits the far backdrop: on the canvas the block drifts 1 px a frame, 10 px in all,
    # more than its own width; over the ground it stands on it does not move at all.
    drift = win.centres[-1][0] - win.centres[0][0]
    assert drift == pytest.approx(-10, abs=1.5)
    assert not win.moving


@pytest.mark.parametrize("own_motion", [3, -4])
def test_object_moving_over_near_ground_under_a_pan_is_moving(own_motion):
    assert AlignedWindow(panned_scene(own_motion)).moving


def test_rank_one_recovers_scaled_camera_drift_with_missing_tracks():
    from cleanplate.sideeffects.parallax import rank_one

    rng = np.random.default_rng(3)
    camera = np.stack([np.linspace(-2, 2, 9), np.linspace(0.5, -0.5, 9)], axis=1)  # (T, 2)
    scale = rng.uniform(0.2, 3.0, 12)  # (N,)
    drift = scale[None, :, None] * camera[:, None]
    drift[:3, :5] = np.nan  # points lost at the start ...
    drift[7:, 8:] = np.nan  # ... and at the end
    fitted_camera, fitted_scale = rank_one(drift)
    model = fitted_scale[None, :, None] * fitted_camera[:, None]
    known = np.isfinite(drift)
    assert np.allclose(model[known], drift[known], atol=0.01)  # ten rounds: within a hundredth of a pixel
    ratio = fitted_scale / scale  # the split between scale and camera is free: one factor for all points
    assert np.allclose(ratio, ratio[0], rtol=0.01)
