"""Bad input through the CLI: one line naming the file, the problem and the fix; non-zero exit;
no traceback; no partial output; inputs untouched."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from cleanplate.cli import main
from videofiles import square_masks, textured, write_video

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def work(tmp_path):
    """A folder with a valid 8-frame video and mask; every case breaks one thing."""
    write_video(tmp_path / "in.mp4", textured(8, 32, 32))
    write_video(tmp_path / "mask.mp4", square_masks(8, 32, 32, size=8, step=2))
    return tmp_path


def snapshot(folder: Path) -> dict:
    """Every file under ``folder``: content hash and modification time."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def fails_cleanly(capsys, folder: Path, argv: list[str], *expected: str) -> str:
    """Run the CLI and check the contract every bad input must honour; return the error line."""
    before = snapshot(folder)
    code = main(["remove", *argv])
    out, err = capsys.readouterr()
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("error: ") and "Traceback" not in err
    assert " — " in line  # problem — fix
    for text in expected:
        assert text in line
    assert snapshot(folder) == before  # inputs untouched, nothing new (no output, no temporary file)
    return line


def args(work, video="in.mp4", mask="mask.mp4", out="out.mp4", *extra):
    return [str(work / video), "--mask", str(work / mask), "-o", str(work / out), "--engine", "telea", *extra]


def test_missing_video(capsys, work):
    fails_cleanly(capsys, work, args(work, video="nope.mp4"), "nope.mp4", "does not exist")


def test_missing_mask(capsys, work):
    fails_cleanly(capsys, work, args(work, mask="nope.png"), "nope.png", "does not exist")


def test_text_file_named_mp4(capsys, work):
    (work / "notes.mp4").write_text("these are my notes, not a video\n")
    fails_cleanly(capsys, work, args(work, video="notes.mp4"), "notes.mp4", "is not a readable video", "re-encode")


def test_video_with_zero_frames(capsys, work):
    with av.open(str(work / "zero.avi"), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width = stream.height = 16
        container.start_encoding()
    fails_cleanly(capsys, work, args(work, video="zero.avi"), "zero.avi", "has zero frames")


def test_empty_frame_folder(capsys, work):
    (work / "frames").mkdir()
    fails_cleanly(capsys, work, args(work, video="frames"), "frames", "no PNG or JPEG frames")


def test_corrupt_mask_video(capsys, work):
    data = (work / "mask.mp4").read_bytes()
    (work / "broken.mp4").write_bytes(data[: len(data) // 3])  # truncated: no index
    fails_cleanly(capsys, work, args(work, mask="broken.mp4"), "broken.mp4", "not a readable video")


def test_corrupt_mask_image(capsys, work):
    (work / "mask.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    fails_cleanly(capsys, work, args(work, mask="mask.png"), "mask.png", "cannot be read as an image")


def test_empty_mask(capsys, work):
    write_video(work / "black.mp4", np.zeros((8, 32, 32, 3), np.uint8))
    fails_cleanly(capsys, work, args(work, mask="black.mp4"), "black.mp4", "nothing was selected", "--invert-mask")


def test_mask_covering_every_pixel_of_every_frame(capsys, work):
    cv2.imwrite(str(work / "white.png"), np.full((32, 32), 255, np.uint8))
    fails_cleanly(capsys, work, args(work, mask="white.png"), "white.png", "every pixel of every frame")


def test_mask_with_another_frame_count_at_the_same_rate(capsys, work):
    write_video(work / "short.mp4", square_masks(5, 32, 32, size=8, step=2))
    fails_cleanly(capsys, work, args(work, mask="short.mp4"), "short.mp4", "has 5 frames but the video has 8")


def test_mask_lasting_longer_at_another_rate(capsys, work):
    write_video(work / "long.mp4", square_masks(12, 32, 32, size=8, step=1), fps=15)  # 0.8 s vs 0.32 s
    fails_cleanly(capsys, work, args(work, mask="long.mp4"), "long.mp4", "lasts 0.80 s", "0.32 s")


def test_frame_folder_whose_frames_change_size_midway(capsys, work):
    folder = work / "frames"
    folder.mkdir()
    for i in range(8):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((32 if i < 5 else 30, 32, 3), 90, np.uint8))
    fails_cleanly(capsys, work, args(work, video="frames"), "5.png", "first frame is 32x32")


def test_unwritable_output_folder(capsys, work):
    locked = work / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    immutable = False
    try:
        if os.access(locked, os.W_OK) and shutil.which("chattr"):  # root ignores permission bits
            immutable = subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode == 0
        probe = locked / "probe"
        try:
            probe.write_bytes(b"")
            probe.unlink()
            pytest.skip("cannot make a folder unwritable here")
        except OSError:
            pass
        fails_cleanly(capsys, work, args(work, out="locked/out.mp4"), "out.mp4", "is not writable")
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        locked.chmod(0o755)


def test_output_parent_is_a_file(capsys, work):
    fails_cleanly(capsys, work, args(work, out="in.mp4/out.mp4"), "in.mp4 is a file, not a folder")


def test_output_folder_missing(capsys, work):
    fails_cleanly(capsys, work, args(work, out="results/out.mp4"), "results does not exist", "create it")


def test_existing_output(capsys, work):
    (work / "out.mp4").write_bytes(b"yesterday's result")
    fails_cleanly(capsys, work, args(work), "out.mp4", "already exists", "--overwrite")


@pytest.mark.parametrize("flag", ["-o", "--save-mask", "--compare", "--save-quadmask"])
def test_output_equal_to_an_input(capsys, work, flag):
    argv = [str(work / "in.mp4"), "--mask", str(work / "mask.mp4"), "--engine", "telea", "--overwrite"]
    argv += ["-o", str(work / "out.mp4")] if flag != "-o" else []
    argv += [flag, str(work / ("mask.mp4" if flag != "-o" else "in.mp4"))]
    fails_cleanly(capsys, work, argv, "same path as an input")


def test_bad_engine_option(capsys, work):
    fails_cleanly(capsys, work, [*args(work), "-O", "nonsense=3"], "nonsense=3", "valid options")


@pytest.mark.parametrize("extra, expected", [
    (["-S", "nonsense=3", "--side-effects", "auto"], ("nonsense=3", "side-effect estimation", "valid options")),
    (["-S", "max_fraction=2", "--side-effects", "auto"], ("max_fraction", "must be in (0, 1]")),
    (["-S", "window=many", "--side-effects", "auto"], ("-S window=many", "is not a valid int", "e.g. window=1")),
    (["-S", "max_fraction=0.5"], ("only apply with --side-effects auto",)),
])
def test_bad_side_effect_option(capsys, work, extra, expected):
    fails_cleanly(capsys, work, [*args(work), *extra], *expected)


SLOW_RUN = textwrap.dedent("""
    import signal, sys, time
    # A shell that starts the test suite in the background (make under nohup, some CI runners)
    # hands its children SIGINT ignored; a user's Ctrl-C is not, so restore Python's handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {src!r})
    from cleanplate.engines import register
    from cleanplate.engines.base import Engine
    from cleanplate.cli import main

    @register
    class Slow(Engine):
        name = "slow"
        def fill(self, clip, progress=None):
            for frame in clip.frames():
                time.sleep(0.2)
                yield frame

    sys.exit(main(sys.argv[1:]))
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_no_output_and_no_temporary_file(work, sig):
    write_video(work / "long.mp4", textured(60, 32, 32))
    write_video(work / "longmask.mp4", square_masks(60, 32, 32, size=8, step=0))
    before = snapshot(work)
    argv = ["remove", str(work / "long.mp4"), "--mask", str(work / "longmask.mp4"), "-o", str(work / "out.mp4"),
            "--engine", "slow", "--compare", str(work / "side.mp4")]
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN.format(src=str(SRC)), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):  # wait until the writers are open and frames are flowing
        if any(p.name.startswith(".out.mp4.") for p in work.iterdir()) or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    time.sleep(0.5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["error: interrupted; no output was written"]
    assert snapshot(work) == before
