"""A clip of frames [start, stop): the very frames a full decode gives, found by seeking."""

import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.cluster.ranges import _seek_decode, frame_index_at, open_range_clip, read_frames
from cleanplate.io import open_mask, open_video
from videofiles import square_masks, textured, write_video

RANGES = [(0, 30), (1, 4), (5, 12), (13, 14), (17, 30), (29, 30), (8, 8)]


def _equal(got, want):
    return len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))


@pytest.mark.parametrize("codec,options", [("libx264", {"g": "6"}), ("mpeg4", {"g": "7", "bf": "2"})],
                         ids=["h264", "mpeg4-bframes"])
def test_read_frames_seeks_and_matches_a_full_decode(tmp_path, codec, options):
    path = write_video(tmp_path / "in.mp4", textured(30, 32, 48, seed=1), fps=12, codec=codec, options=options)
    source = open_video(path)
    full = list(source)
    for start, stop in RANGES:
        assert _equal(list(read_frames(source, start, stop)), full[start:stop]), (start, stop)
    assert _seek_decode(source, 20) is not None  # the keyframes let it seek rather than decode from 0


def test_read_frames_of_a_variable_frame_rate_video(tmp_path):
    stamps = np.cumsum([0] + [0.04, 0.08, 0.04, 0.12] * 6)[:24]
    path = write_video(tmp_path / "vfr.mkv", textured(24, 32, 32, seed=2), timestamps=stamps,
                       options={"g": "5"})
    source = open_video(path)
    assert source.info.timestamps is not None
    full = list(source)
    for start, stop in [(3, 9), (10, 24), (23, 24)]:
        assert _equal(list(read_frames(source, start, stop)), full[start:stop]), (start, stop)


def test_read_frames_of_a_folder_and_bounds(tmp_path):
    import cv2

    frames = textured(6, 16, 16, seed=3)
    (tmp_path / "f").mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "f" / f"{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    source = open_video(tmp_path / "f")
    assert _equal(list(read_frames(source, 2, 5)), list(frames[2:5]))
    with pytest.raises(ValueError):
        list(read_frames(source, 4, 7))


def test_frame_index_at_nearest_frame():
    from cleanplate.clip import VideoInfo

    cfr = VideoInfo(8, 8, 25.0, 100)
    assert [frame_index_at(cfr, t) for t in (0.0, 0.039, 0.041, 1.0)] == [0, 1, 1, 25]
    vfr = cfr.with_(num_frames=4, timestamps=(0.0, 0.1, 0.3, 0.35))
    assert [frame_index_at(vfr, t) for t in (0.0, 0.04, 0.06, 0.19, 0.31, 0.34, 9.0)] == [0, 0, 1, 1, 2, 3, 3]


def test_range_clip_aligns_frames_and_masks(tmp_path):
    video = write_video(tmp_path / "in.mp4", textured(20, 32, 48), fps=10, audio_seconds=2.0, options={"g": "4"})
    mask = write_video(tmp_path / "mask.mp4", square_masks(20, 32, 48, size=8, step=2), fps=10)
    clip = open_range_clip(video, mask, 7, 15)
    assert len(clip) == 8 and clip.info.has_audio is False and (clip.info.width, clip.info.height) == (48, 32)
    frames, masks = clip.read()
    source = open_video(video)
    full_masks = list(open_mask(mask, source.info))
    assert _equal(list(frames), list(source)[7:15])
    assert _equal(list(masks), full_masks[7:15])
    # the square moves 2 px a frame from x=4: frame 7's hole starts at x=18
    assert (masks[0][:, 18:26] == quadmask.REMOVE).any() and (masks[0][:, :16] == quadmask.KEEP).all()
