"""Reading masks: binary or quadmask, thresholds, snapping, static masks, size and rate mismatches."""

import itertools
import logging

import cv2
import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.clip import VideoInfo
from cleanplate.errors import InputError
from cleanplate.io import looks_like_quadmask, open_clip, open_mask, open_video
from cleanplate.io.align import alignment, nearest_in_time
from conftest import samples_dir
from videofiles import square_masks, textured, write_video

FAST = {"preset": "ultrafast"}


def binary_disc(size=256, radius=60):
    mask = np.zeros((size, size), np.uint8)
    cv2.circle(mask, (size // 2, size // 2), radius, 255, -1)
    return mask


def quad_scene(size=96):
    q = np.full((size, size), 255, np.uint8)
    s = size // 96
    q[20 * s:50 * s, 20 * s:50 * s] = quadmask.REMOVE
    q[50 * s:70 * s, 20 * s:60 * s] = quadmask.AFFECTED  # a shadow
    q[45 * s:50 * s, 30 * s:40 * s] = quadmask.OVERLAP
    return q


def jpeg(image, quality):
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], 0)


def damage(image, how):
    if how == "blur":
        return cv2.GaussianBlur(image, (0, 0), 2.0)
    if how == "jpeg":
        return jpeg(image, 20)
    if how == "blur+jpeg":
        return jpeg(cv2.GaussianBlur(image, (0, 0), 3.0), 20)
    if how == "down-up":
        small = cv2.resize(image, (image.shape[1] // 8, image.shape[0] // 8), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, image.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return image


@pytest.mark.parametrize("how", ["none", "blur", "jpeg", "blur+jpeg", "down-up"])
def test_binary_mask_ramps_are_not_mistaken_for_quadmask_levels(how):
    assert not looks_like_quadmask([damage(binary_disc(), how)])
    assert not looks_like_quadmask([damage(binary_disc(radius=10), how)])  # small object: mostly edge


@pytest.mark.parametrize("how", ["none", "blur", "jpeg", "blur+jpeg", "down-up"])
def test_quadmask_is_recognised_even_when_damaged(how):
    assert looks_like_quadmask([damage(quad_scene(), how)])
    assert looks_like_quadmask([damage(quad_scene(256), how)])


def test_quadmask_with_a_tiny_affected_region_among_many_keep_frames_is_recognised():
    q = np.full((96, 96), 255, np.uint8)
    q[10:40, 10:40] = 0
    q[40:46, 10:40] = 127  # 180 px, 2% of the frame
    assert looks_like_quadmask([q] + [np.full((96, 96), 255, np.uint8)] * 3)


def test_weak_level_evidence_decides_only_for_a_mostly_white_mask():
    keep = np.full((256, 256), 255, np.uint8)
    q = keep.copy()
    q[100:140, 100:140] = quadmask.REMOVE
    q[140:146, 100:130] = quadmask.AFFECTED  # 112 plateau pixels: 0.04% of the four frames
    assert looks_like_quadmask([q, keep, keep, keep])  # mostly KEEP: a quadmask
    black = np.zeros_like(keep)
    b = black.copy()
    b[100:140, 100:140] = 255
    b[140:146, 100:130] = 127  # the same grey patch on a mostly black (white = remove) mask
    assert not looks_like_quadmask([b, black, black, black])


def test_uniform_grey_ramp_is_binary():
    ramp = np.tile(np.arange(256, dtype=np.uint8), (8, 1))
    assert not looks_like_quadmask([ramp])


def test_lossy_binary_mask_video_is_thresholded_white_is_remove(tmp_path):
    masks = square_masks(5, 32, 48, size=10, step=3)
    path = write_video(tmp_path / "m.mp4", masks, codec="mpeg4", options={"qscale": "20"})  # very lossy
    mask = open_mask(path, VideoInfo(48, 32, 25.0, 5))
    assert mask.kind == "binary"
    got = list(mask)
    assert set(np.unique(np.stack(got))) <= {quadmask.REMOVE, quadmask.KEEP}
    want = masks[..., 0] == 255
    for q, w in zip(got, want):
        assert ((q == quadmask.REMOVE) != w).sum() <= 6  # only a few edge pixels may flip


def test_invert_mask_makes_black_remove(tmp_path):
    masks = 255 - square_masks(3, 32, 48, size=10, step=3)
    path = write_video(tmp_path / "m.mp4", masks)
    q = next(iter(open_mask(path, VideoInfo(48, 32, 25.0, 3), invert=True)))
    assert q[8, 8] == quadmask.REMOVE and q[30, 40] == quadmask.KEEP


def test_mostly_white_mask_suggests_invert(tmp_path, caplog):
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), 255 - binary_disc())
    open_mask(path, VideoInfo(256, 256, 25.0, 4))
    assert "pass --invert-mask" in caplog.text


def test_quadmask_levels_are_snapped_and_unexpected_ones_counted(tmp_path, caplog):
    q = quad_scene()
    q[0, :10] = 60  # near OVERLAP: snapped silently
    q[1, :7] = 200  # between AFFECTED and KEEP: unexpected
    path = tmp_path / "q.png"
    cv2.imwrite(str(path), q)
    with caplog.at_level(logging.WARNING):
        mask = open_mask(path, VideoInfo(96, 96, 25.0, 3))
    got = next(iter(mask))
    assert mask.kind == "quadmask"
    assert got[0, 0] == quadmask.OVERLAP and got[1, 0] == quadmask.KEEP
    assert got[30, 30] == quadmask.REMOVE and got[60, 30] == quadmask.AFFECTED
    assert "7 quadmask pixels" in caplog.text


def test_lossy_quadmask_video_snaps_to_levels(tmp_path):
    q = np.repeat(quad_scene()[None, ..., None], 3, axis=3).repeat(4, axis=0)
    path = write_video(tmp_path / "q.mp4", q, options={"crf": "30"})
    got = np.stack(list(open_mask(path, VideoInfo(96, 96, 25.0, 4))))
    assert set(np.unique(got)) <= set(quadmask.LEVELS.tolist())
    assert (got == q[..., 0]).mean() > 0.99


def test_mask_kind_can_be_forced(tmp_path):
    path = tmp_path / "q.png"
    cv2.imwrite(str(path), quad_scene())
    mask = open_mask(path, VideoInfo(96, 96, 25.0, 1), kind="binary")
    assert mask.kind == "binary"
    assert next(iter(mask))[60, 30] == quadmask.KEEP  # 127 < 128: not white, not removed


def test_invert_is_ignored_for_a_quadmask_with_a_warning(tmp_path, caplog):
    path = tmp_path / "q.png"
    cv2.imwrite(str(path), quad_scene())
    q = next(iter(open_mask(path, VideoInfo(96, 96, 25.0, 1), invert=True)))
    assert q[30, 30] == quadmask.REMOVE
    assert "--invert-mask ignored" in caplog.text


def test_single_image_is_a_static_mask_for_every_frame(tmp_path):
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), binary_disc(size=32, radius=6))
    masks = list(open_mask(path, VideoInfo(32, 32, 25.0, 7)))
    assert len(masks) == 7
    assert all(np.array_equal(m, masks[0]) for m in masks)
    assert masks[0][16, 16] == quadmask.REMOVE
    with pytest.raises(ValueError):
        masks[0][0, 0] = 0  # shared by every frame: read-only


def test_mask_of_another_size_is_resized_nearest_with_a_warning(tmp_path, caplog):
    small = np.zeros((16, 24), np.uint8)
    small[4:8, 6:12] = 255
    path = tmp_path / "m.png"
    cv2.imwrite(str(path), small)
    q = next(iter(open_mask(path, VideoInfo(48, 32, 25.0, 2))))
    assert q.shape == (32, 48)
    assert set(np.unique(q)) == {quadmask.REMOVE, quadmask.KEEP}  # nearest: no new values
    assert np.array_equal(q == quadmask.REMOVE, np.kron(small == 255, np.ones((2, 2), bool)))
    assert "mask is 24x16 but the video is 48x32" in caplog.text


def test_25fps_720p_video_with_15fps_1820x1024_mask_aligns_by_timestamp(tmp_path, caplog):
    video = write_video(tmp_path / "v.mp4", np.full((25, 720, 1280, 3), 90, np.uint8), fps=25, options=FAST)
    masks = np.zeros((15, 1024, 1820, 3), np.uint8)
    for j in range(15):  # mask frame j marks x = 100 j .. 100 j + 80 (mask pixels)
        masks[j, 400:600, 100 * j:100 * j + 80] = 255
    mask = write_video(tmp_path / "m.mp4", masks, fps=15, options=FAST)
    clip = open_clip(video, mask)
    assert "nearest in time" in caplog.text and "resizing" in caplog.text
    got = list(clip.masks())
    assert len(got) == 25
    for i, q in enumerate(got):
        j = int(np.floor(i * 15 / 25 + 0.5))  # nearest mask frame (no ties at 25/15)
        xs = np.nonzero((q == quadmask.REMOVE).any(axis=0))[0]
        assert q.shape == (720, 1280)
        assert xs.min() == pytest.approx((100 * j) * 1280 / 1820, abs=2)


def test_nearest_in_time_takes_the_closer_frame_and_the_earlier_on_a_tie():
    mask_times = [0.0, 0.1, 0.2]
    video_times = [0.0, 0.04, 0.05, 0.06, 0.15, 0.3]
    assert list(nearest_in_time(video_times, mask_times, "abc")) == ["a", "a", "a", "b", "b", "c"]


@pytest.mark.parametrize("mask,video,ok", [
    ((15, 15.0), (25, 25.0), "time"),     # 1 s each
    ((16, 15.0), (25, 25.0), "time"),     # differs by less than one mask frame
    ((18, 15.0), (25, 25.0), None),       # 1.2 s vs 1 s
    ((24, 25.0), (25, 25.0), None),       # same rate, one frame short
    ((25, 30.0), (25, 25.0), "frames"),   # same count: one to one whatever the rates say
    ((1, 30.0), (25, 25.0), "static"),
])
def test_alignment_rules(mask, video, ok):
    m = VideoInfo(8, 8, mask[1], mask[0], path="mask.mp4")
    v = VideoInfo(8, 8, video[1], video[0], path="video.mp4")
    if ok is None:
        with pytest.raises(InputError, match="mask.mp4: .*(frames|lasts)"):
            alignment(m, v)
    else:
        assert alignment(m, v) == ok


def test_mask_folder_of_another_length_is_an_error(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"{i}.png"), binary_disc(size=16, radius=3))
    with pytest.raises(InputError, match="has 3 frames but the video has 5"):
        open_mask(folder, VideoInfo(16, 16, 25.0, 5, path=str(tmp_path / "v.mp4")))


def test_empty_and_full_masks_are_refused_before_any_work(tmp_path):
    video = write_video(tmp_path / "v.mp4", textured(3, 16, 16))
    empty = write_video(tmp_path / "empty.mp4", np.zeros((3, 16, 16, 3), np.uint8))
    full = write_video(tmp_path / "full.mp4", np.full((3, 16, 16, 3), 255, np.uint8))
    with pytest.raises(InputError, match="nothing was selected"):
        open_clip(video, empty)
    with pytest.raises(InputError, match="every pixel of every frame"):
        open_clip(video, full)
    with pytest.raises(InputError, match="nothing was selected.*black"):
        open_clip(video, full, invert_mask=True)


@pytest.mark.samples
@pytest.mark.parametrize("name,file,kind", [
    ("tennis", "mask.mp4", "binary"), ("bigben", "quadmask.mp4", "quadmask"), ("ducky", "quadmask.mp4", "quadmask"),
])
def test_sample_masks_are_recognised(name, file, kind):
    folder = samples_dir(name)
    mask = open_mask(folder / file, open_video(folder / "video.mp4").info)
    assert mask.kind == kind
    seen = set()
    for q in itertools.islice(mask, 0, None, 5):
        seen |= set(np.unique(q).tolist())
    want = {quadmask.REMOVE, quadmask.KEEP} | ({quadmask.AFFECTED} if kind == "quadmask" else set())
    assert want <= seen <= set(quadmask.LEVELS.tolist())
    if kind == "binary":
        assert seen == want
