"""Reading videos: containers, rotation, timestamps, pixel formats, frame folders, frame counts."""

import cv2
import numpy as np
import pytest

from cleanplate.errors import InputError
from cleanplate.io import video as video_mod
from cleanplate.io.images import list_images
from cleanplate.io.video import make_upright, open_video, orientation_from_matrix, orientation_from_tag
from conftest import samples_dir
from videofiles import textured, write_video


def corner_frames(t=3, h=32, w=64):
    frames = np.zeros((t, h, w, 3), np.uint8)
    frames[:, :16, :16] = 255  # white block at the top-left
    return frames


def bright_corners(frame):
    corners = {"tl": frame[:8, :8], "tr": frame[:8, -8:], "bl": frame[-8:, :8], "br": frame[-8:, -8:]}
    return sorted(k for k, v in corners.items() if v.mean() > 128)


@pytest.mark.parametrize("suffix,codec,fmt", [
    (".mp4", "libx264", None), (".mov", "libx264", None), (".mkv", "libx264", None),
    (".avi", "mpeg4", None), (".webm", "libvpx-vp9", None),
])
def test_containers_read_with_exact_count_and_size(tmp_path, suffix, codec, fmt):
    frames = textured(7, 24, 40)
    path = write_video(tmp_path / f"v{suffix}", frames, fps=15, codec=codec, fmt=fmt)
    source = open_video(path)
    assert (source.info.width, source.info.height, source.info.num_frames) == (40, 24, 7)
    assert source.info.fps == pytest.approx(15)
    got = list(source)
    assert len(got) == 7 and got[0].shape == (24, 40, 3) and got[0].dtype == np.uint8
    assert np.abs(got[3].astype(int) - frames[3]).mean() < 12  # the right frames, in order


def test_reliable_header_count_is_used_without_counting(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.mp4", textured(9, 16, 16))

    def forbidden(_):
        raise AssertionError("counted frames although the mp4 header has a reliable count")

    monkeypatch.setattr(video_mod, "_count_packets", forbidden)
    monkeypatch.setattr(video_mod, "_count_decoded", forbidden)
    assert open_video(path).info.num_frames == 9


def test_container_without_a_count_is_counted_by_demuxing(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.mkv", textured(11, 16, 16))  # Matroska stores no frame count
    calls = []
    real = video_mod._count_packets
    monkeypatch.setattr(video_mod, "_count_packets", lambda p: calls.append(p) or real(p))
    assert open_video(path).info.num_frames == 11
    assert calls  # counted packets (no decode)


@pytest.mark.parametrize("degrees,hflip,orientation,corner", [
    (90, False, "cclock", "bl"), (-90, False, "clock", "tr"), (180, False, "180", "br"),
    (0, True, "hflip", "tr"), (90, True, "antitranspose", "br"),
])
def test_display_matrix_rotation_gives_upright_frames(tmp_path, degrees, hflip, orientation, corner):
    path = write_video(tmp_path / "r.mp4", corner_frames(), rotation=degrees, hflip=hflip)
    source = open_video(path)
    assert source.orientation == orientation
    frame = next(iter(source))
    upright = (32, 64) if degrees % 180 == 0 else (64, 32)
    assert frame.shape[:2] == upright
    assert (source.info.height, source.info.width) == upright
    assert bright_corners(frame) == [corner]


def test_orientation_from_matrix_matches_numpy_rotation():
    image = np.arange(6).reshape(2, 3)
    cclock90 = [0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30]  # av_display_rotation_set(90)
    assert orientation_from_matrix(cclock90) == "cclock"
    assert np.array_equal(make_upright(image, "cclock"), np.rot90(image, 1))
    assert np.array_equal(make_upright(image, "transpose"), image.T)
    assert orientation_from_matrix([65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30]) == "none"


def test_legacy_rotate_tag_is_clockwise_degrees():
    assert orientation_from_tag("90") == "clock"
    assert orientation_from_tag("270") == "cclock"
    assert orientation_from_tag("180") == "180"
    assert orientation_from_tag("junk") == "none"


def test_variable_frame_rate_keeps_timestamps(tmp_path):
    stamps = [0.0, 0.04, 0.1, 0.3, 0.32, 0.5]
    path = write_video(tmp_path / "vfr.mp4", textured(6, 16, 16), fps=12, timestamps=stamps)
    info = open_video(path).info
    assert info.num_frames == 6
    assert info.timestamps == pytest.approx(stamps, abs=1e-3)


def test_constant_frame_rate_has_no_timestamps(tmp_path):
    info = open_video(write_video(tmp_path / "cfr.mkv", textured(5, 16, 16), fps=12)).info
    assert info.timestamps is None and info.fps == pytest.approx(12)


@pytest.mark.parametrize("pix_fmt", ["yuv444p10le", "gray", "yuva444p", "gray16le"])
def test_ten_bit_grey_and_alpha_sources_become_8bit_rgb(tmp_path, pix_fmt):
    frames = textured(3, 16, 24)
    if pix_fmt.startswith("gray"):
        frames = np.repeat(frames[..., :1], 3, axis=3)
    path = write_video(tmp_path / "v.mkv", frames, codec="ffv1", pix_fmt=pix_fmt)
    got = list(open_video(path))
    assert got[0].shape == (16, 24, 3) and got[0].dtype == np.uint8
    assert np.abs(got[1].astype(int) - frames[1]).max() <= 3  # lossless codec: only YUV rounding


def test_ten_bit_420_source(tmp_path):
    frames = np.zeros((2, 16, 24, 3), np.uint8)
    frames[:, :, :12] = (200, 30, 60)
    frames[:, :, 12:] = (20, 180, 90)  # colour edge on an even column: 4:2:0 loses nothing
    path = write_video(tmp_path / "v.mkv", frames, codec="ffv1", pix_fmt="yuv420p10le")
    got = list(open_video(path))
    assert got[1].dtype == np.uint8
    assert np.abs(got[1].astype(int) - frames[1]).max() <= 3


def test_rgba_source_drops_alpha_exactly(tmp_path):
    rgba = np.concatenate([textured(2, 16, 24), np.full((2, 16, 24, 1), 40, np.uint8)], axis=3)
    path = write_video(tmp_path / "a.mov", rgba, codec="png", pix_fmt="rgba", in_format="rgba")
    got = list(open_video(path))
    assert np.array_equal(got[1], rgba[1, ..., :3])


def test_odd_size_video_reads_at_its_size(tmp_path):
    path = write_video(tmp_path / "odd.mp4", textured(3, 17, 33), pix_fmt="yuv444p")
    source = open_video(path)
    assert (source.info.width, source.info.height) == (33, 17)
    assert next(iter(source)).shape == (17, 33, 3)


def test_frame_folder_natural_order_16bit_grey_and_alpha(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    values = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]
    for i, v in enumerate(values):  # frame2 before frame10 (natural, not lexicographic)
        cv2.imwrite(str(folder / f"frame{i}.png"), np.full((8, 12, 3), v, np.uint8))
    (folder / "._frame3.png").write_bytes(b"macOS resource fork, not an image")
    (folder / "notes.txt").write_text("not a frame")
    assert [p.name for p in list_images(folder)][:3] == ["frame0.png", "frame1.png", "frame2.png"]
    assert [int(f[0, 0, 0]) for f in open_video(folder)] == values

    deep = tmp_path / "deep"
    deep.mkdir()
    cv2.imwrite(str(deep / "0.png"), np.full((8, 12), 257 * 200, np.uint16))
    rgba = np.zeros((8, 12, 4), np.uint8)
    rgba[..., :3] = (30, 60, 90)  # BGR on disk
    cv2.imwrite(str(deep / "1.png"), rgba)
    frames = list(open_video(deep))
    assert frames[0][0, 0].tolist() == [200, 200, 200]
    assert frames[1][0, 0].tolist() == [90, 60, 30]


def test_frame_folder_with_a_frame_of_another_size_names_it(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0.png"), np.zeros((8, 12, 3), np.uint8))
    cv2.imwrite(str(folder / "1.png"), np.zeros((9, 12, 3), np.uint8))
    with pytest.raises(InputError, match=r"1\.png.*12x9 but the first frame is 12x8"):
        list(open_video(folder))


def test_decoder_short_of_the_header_count_repeats_the_last_frame(tmp_path, caplog):
    source = open_video(write_video(tmp_path / "v.mp4", textured(4, 16, 16)))
    source.info = source.info.with_(num_frames=6)  # as if the header over-counted
    frames = list(source)
    assert len(frames) == 6 and np.array_equal(frames[5], frames[3])
    assert "decoded 4 of the 6 frames" in caplog.text


@pytest.mark.samples
def test_sample_clip_probe_without_decoding(monkeypatch):
    monkeypatch.setattr(video_mod, "_count_decoded", lambda p: pytest.fail("decoded to count"))
    info = open_video(samples_dir("ducky") / "video.mp4").info
    assert (info.width, info.height, info.num_frames, info.fps, info.has_audio) == (1296, 720, 62, 12.0, True)
