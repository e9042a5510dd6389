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


def _mask_sources(tmp_path):
    """Mask files of each kind the video can be aligned with: name -> (path, invert)."""
    import cv2

    moving = square_masks(20, 32, 48, size=8, step=2)
    (tmp_path / "mask_frames").mkdir()
    for i, m in enumerate(moving[:, :16, :24]):  # half size: resized to the video's
        cv2.imwrite(str(tmp_path / "mask_frames" / f"m{i}.png"), m[..., 0])
    cv2.imwrite(str(tmp_path / "still.png"), 255 - moving[3, ..., 0])
    quad = np.full((20, 32, 48, 3), quadmask.KEEP, np.uint8)
    quad[:, 8:16, 8:30] = quadmask.AFFECTED
    quad[:, 10:14, 10:20] = quadmask.REMOVE
    return {
        "video": (write_video(tmp_path / "mask.mp4", moving, fps=10, options={"g": "3"}), False),
        "folder": (tmp_path / "mask_frames", False),
        "still-inverted": (tmp_path / "still.png", True),
        "other-rate": (write_video(tmp_path / "mask20.mkv", np.repeat(moving, 2, axis=0), fps=20), False),
        "quadmask": (write_video(tmp_path / "quad.mkv", quad, fps=10, codec="ffv1", pix_fmt="bgr0"), True),
    }


@pytest.mark.parametrize("kind", ["video", "folder", "still-inverted", "other-rate", "quadmask"])
def test_range_clip_frames_and_masks_are_those_of_the_whole_clip(tmp_path, kind):
    video = write_video(tmp_path / "in.mp4", textured(20, 32, 48), fps=10, audio_seconds=2.0, options={"g": "4"})
    mask, invert = _mask_sources(tmp_path)[kind]
    source = open_video(video)
    whole = open_mask(mask, source.info, invert)  # what the driver opens: it decides the kind
    assert whole.kind == ("quadmask" if kind == "quadmask" else "binary")
    clip = open_range_clip(video, mask, 7, 15, whole.invert, whole.kind)
    assert len(clip) == 8 and clip.info.has_audio is False and (clip.info.width, clip.info.height) == (48, 32)
    frames, masks = clip.read()
    assert _equal(list(frames), list(source)[7:15])
    assert _equal(list(masks), list(whole)[7:15])
    assert (masks == quadmask.REMOVE).any() and (masks == quadmask.KEEP).any()
