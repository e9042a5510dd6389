"""Writing: exact size, rate and count, audio copied untouched, PNG folders bit-exact, atomic, safe paths."""

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from cleanplate.clip import VideoInfo
from cleanplate.errors import OutputError
from cleanplate.io import check_outputs, open_video, open_writer
from videofiles import audio_packets, stream_facts, textured, write_video


def write_all(path, frames, info, **kw):
    with open_writer(path, info, **kw) as writer:
        for frame in frames:
            writer.write(frame)
    return path


@pytest.mark.parametrize("w,h,pix_fmt", [(48, 32, "yuv420p"), (33, 17, "yuv444p"), (34, 17, "yuv444p")])
def test_video_keeps_exact_size_rate_and_count(tmp_path, w, h, pix_fmt):
    frames = textured(7, h, w)
    info = VideoInfo(w, h, 30000 / 1001, 7)
    facts = stream_facts(write_all(tmp_path / "out.mp4", frames, info))
    assert (facts["width"], facts["height"], facts["frames"]) == (w, h, 7)
    assert facts["rate"] == Fraction(30000, 1001)
    assert facts["pix_fmt"] == pix_fmt  # 4:2:0 only where H.264 can hold the size exactly


@pytest.mark.parametrize("w,h", [(48, 32), (33, 17)])
def test_colours_survive_the_round_trip(tmp_path, w, h):
    frame = np.zeros((h, w, 3), np.uint8)
    frame[:, :16] = (200, 30, 60)  # saturated patches: a wrong colour matrix shifts them by 5-20
    frame[:8, 16:] = (20, 180, 90)
    frame[8:, 16:] = (250, 250, 240)
    path = write_all(tmp_path / "out.mp4", [frame] * 2, VideoInfo(w, h, 25.0, 2), quality=0)
    back = next(iter(open_video(path))).astype(int)
    for y, x in [(12, 6), (3, 26), (13, 28)]:  # inside the patches, clear of chroma blending at edges
        assert np.abs(back[y, x] - frame[y, x]).max() <= 2  # tagged and converted BT.709, limited range


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_other_containers(tmp_path, suffix):
    frames = textured(3, 16, 16)
    facts = stream_facts(write_all(tmp_path / f"out{suffix}", frames, VideoInfo(16, 16, 12.0, 3)))
    assert facts["frames"] == 3 and facts["rate"] == 12


def test_variable_frame_rate_timestamps_are_kept(tmp_path):
    stamps = (0.0, 0.04, 0.1, 0.3, 0.32, 0.5)
    info = VideoInfo(16, 16, 12.0, 6, stamps)
    facts = stream_facts(write_all(tmp_path / "vfr.mp4", textured(6, 16, 16), info))
    assert facts["times"] == pytest.approx(stamps, abs=1e-3)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_audio_is_copied_packet_for_packet(tmp_path, suffix):
    source = write_video(tmp_path / "in.mp4", textured(25, 16, 16), fps=25, audio_seconds=1.0)
    info = open_video(source).info
    assert info.has_audio
    out = write_all(tmp_path / f"out{suffix}", textured(25, 16, 16, seed=1), info, audio_from=str(source))
    copied, original = audio_packets(out), audio_packets(source)
    assert len(original) > 40 and copied == original
    assert stream_facts(out)["frames"] == 25


def test_audio_the_container_cannot_hold_is_dropped_with_a_warning(tmp_path, caplog):
    source = tmp_path / "in.avi"
    with av.open(str(source), "w") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width = video.height = 16
        audio = container.add_stream("adpcm_ms", rate=48000)
        audio.layout = "mono"
        for _ in range(3):
            container.mux(video.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")))
        container.mux(video.encode(None))
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    out = write_all(tmp_path / "out.mp4", textured(3, 16, 16), VideoInfo(16, 16, 25.0, 3), audio_from=str(source))
    assert stream_facts(out)["frames"] == 3 and audio_packets(out) == []
    assert "cannot be copied" in caplog.text


def test_png_folder_is_bit_exact(tmp_path):
    frames = np.random.default_rng(3).integers(0, 256, (4, 9, 13, 3), dtype=np.uint8)
    out = write_all(tmp_path / "frames", frames, VideoInfo(13, 9, 25.0, 4))
    assert sorted(os.listdir(out)) == ["000000.png", "000001.png", "000002.png", "000003.png"]
    assert np.array_equal(np.stack(list(open_video(out))), frames)


@pytest.mark.parametrize("name", ["out.mp4", "frames"])
def test_a_failed_write_leaves_nothing_behind(tmp_path, name):
    with pytest.raises(RuntimeError):
        with open_writer(tmp_path / name, VideoInfo(16, 16, 25.0, 3)) as writer:
            writer.write(textured(1, 16, 16)[0])
            raise RuntimeError("engine crashed")
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_a_frame_folder_atomically(tmp_path):
    info = VideoInfo(8, 8, 25.0, 2)
    write_all(tmp_path / "frames", textured(3, 8, 8), info.with_(num_frames=3))
    check_outputs([tmp_path / "frames"], overwrite=True)
    write_all(tmp_path / "frames", textured(2, 8, 8), info)
    assert sorted(os.listdir(tmp_path / "frames")) == ["000000.png", "000001.png"]
    assert os.listdir(tmp_path) == ["frames"]


def test_wrong_frame_shape_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"expected \(16, 16, 3\) uint8"):
        with open_writer(tmp_path / "out.mp4", VideoInfo(16, 16, 25.0, 1)) as writer:
            writer.write(np.zeros((16, 17, 3), np.uint8))
    assert os.listdir(tmp_path) == []


class TestOutputPaths:
    def test_existing_output_needs_overwrite(self, tmp_path):
        (tmp_path / "out.mp4").write_bytes(b"old")
        with pytest.raises(OutputError, match="already exists — pass --overwrite"):
            check_outputs([tmp_path / "out.mp4"])
        check_outputs([tmp_path / "out.mp4"], overwrite=True)

    def test_output_equal_to_an_input_even_through_a_symlink(self, tmp_path):
        (tmp_path / "in.mp4").write_bytes(b"video")
        (tmp_path / "link.mp4").symlink_to(tmp_path / "in.mp4")
        for out in ("in.mp4", "link.mp4"):
            with pytest.raises(OutputError, match="same path as an input"):
                check_outputs([tmp_path / out], [tmp_path / "in.mp4"], overwrite=True)

    def test_output_folder_holding_an_input_is_refused(self, tmp_path):
        (tmp_path / "in.mp4").write_bytes(b"video")
        with pytest.raises(OutputError, match="holds the input"):
            check_outputs([tmp_path], [tmp_path / "in.mp4"], overwrite=True)

    def test_folder_with_other_files_is_never_replaced(self, tmp_path):
        (tmp_path / "work").mkdir()
        (tmp_path / "work" / "thesis.tex").write_text("precious")
        with pytest.raises(OutputError, match="'thesis.tex', which is not a frame"):
            check_outputs([tmp_path / "work"], overwrite=True)

    def test_two_outputs_at_one_path(self, tmp_path):
        with pytest.raises(OutputError, match="given for two outputs"):
            check_outputs([tmp_path / "a.mp4", None, tmp_path / "a.mp4"])

    @pytest.mark.parametrize("name", ["out.avi", "out.webm", "out.png"])
    def test_formats_that_cannot_be_written(self, tmp_path, name):
        with pytest.raises(OutputError, match="cannot write"):
            check_outputs([tmp_path / name])

    def test_missing_parent_folder(self, tmp_path):
        with pytest.raises(OutputError, match="does not exist"):
            check_outputs([tmp_path / "nope" / "out.mp4"])


def test_encoder_failure_becomes_one_line_output_error(tmp_path, monkeypatch):
    from cleanplate.io.writers import Writer

    def disk_full(self, frame):
        raise av.error.FFmpegError(28, "No space left on device")

    monkeypatch.setattr(Writer, "_write_video", disk_full)
    with pytest.raises(OutputError, match=r"could not be written \(FFmpegError: No space left on device\) — check there is free"):
        with open_writer(tmp_path / "out.mp4", VideoInfo(16, 16, 25.0, 1)) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
    assert os.listdir(tmp_path) == []
