"""``cleanplate remove`` end to end on tiny clips (telea engine: exists without weights)."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from cleanplate import quadmask
from cleanplate.cli import main
from cleanplate.io import open_video
from videofiles import audio_packets, square_masks, stream_facts, textured, write_video

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def clip(tmp_path):
    video = write_video(tmp_path / "in.mp4", textured(10, 32, 48), fps=12, audio_seconds=1.0)
    mask = write_video(tmp_path / "mask.mp4", square_masks(10, 32, 48, size=8, step=2), fps=12)
    return tmp_path, video, mask


def run(capsys, *argv):
    code = main(["remove", *map(str, argv), "--engine", "telea"])
    out, err = capsys.readouterr()
    return code, out, err


def test_remove_writes_video_with_input_size_rate_count_and_audio(capsys, clip):
    folder, video, mask = clip
    code, out, err = run(capsys, video, "--mask", mask, "-o", folder / "out.mp4", "--compare", folder / "side.mp4",
                         "--save-mask", folder / "hole.mp4", "--save-quadmask", folder / "quad")
    assert code == 0, err
    assert out.strip() == f"wrote {folder / 'out.mp4'}"
    facts = stream_facts(folder / "out.mp4")
    assert (facts["width"], facts["height"], facts["frames"], facts["rate"]) == (48, 32, 10, 12)
    assert audio_packets(folder / "out.mp4") == audio_packets(video)
    assert stream_facts(folder / "side.mp4")["width"] == 96
    assert stream_facts(folder / "hole.mp4")["frames"] == 10
    quad = list(open_video(folder / "quad"))  # PNG folder: exact levels
    assert len(quad) == 10 and set(np.unique(quad[0])) == {quadmask.REMOVE, quadmask.KEEP}


def test_png_output_is_the_input_outside_the_hole(capsys, clip):
    folder, video, mask = clip
    code, _, err = run(capsys, video, "--mask", mask, "-o", folder / "frames", "--save-quadmask", folder / "quad")
    assert code == 0, err
    results, quads = list(open_video(folder / "frames")), list(open_video(folder / "quad"))
    for original, result, quad in zip(open_video(video), results, quads):
        keep = quad[..., 0] == quadmask.KEEP
        assert np.array_equal(result[keep], original[keep])
        assert not np.array_equal(result[~keep], original[~keep])  # the square was filled


def test_static_image_mask_and_overwrite(capsys, clip):
    folder, video, _ = clip
    still = np.zeros((32, 48), np.uint8)
    still[10:20, 10:20] = 255
    cv2.imwrite(str(folder / "still.png"), still)
    (folder / "out.mp4").write_bytes(b"old")
    code, _, err = run(capsys, video, "--mask", folder / "still.png", "-o", folder / "out.mp4", "--overwrite")
    assert code == 0, err
    assert stream_facts(folder / "out.mp4")["frames"] == 10


def test_warnings_reach_stderr_as_lines(capsys, clip):
    folder, video, _ = clip
    cv2.imwrite(str(folder / "small.png"), cv2.resize(np.pad(np.full((8, 8), 255, np.uint8), 8), (24, 16)))
    code, _, err = run(capsys, video, "--mask", folder / "small.png", "-o", folder / "out.mp4")
    assert code == 0
    assert "warning: " in err and "mask is 24x16 but the video is 48x32" in err


def test_progress_bar_only_when_asked_or_on_a_terminal(capsys, clip):
    folder, video, mask = clip
    _, _, quiet = run(capsys, video, "--mask", mask, "-o", folder / "a.mp4")
    _, _, forced = run(capsys, video, "--mask", mask, "-o", folder / "b.mp4", "--progress")
    assert "write" not in quiet and "fill" not in quiet  # stderr is not a terminal under pytest
    assert "write" in forced and "10/10" in forced


def test_help_does_not_import_torch():
    code = (f"import sys; sys.path.insert(0, {str(SRC)!r})\n"
            "from cleanplate.cli import main\n"
            "assert main(['--help']) == 0 and main(['remove', '--help']) == 0\n"
            "heavy = sorted({'torch', 'diffusers', 'transformers'} & set(sys.modules))\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--mask" in result.stdout
