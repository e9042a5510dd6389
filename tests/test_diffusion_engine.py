"""The ``diffusion`` engine behind the common interface: registration, options, API and CLI end to end."""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import cleanplate
from cleanplate.engines import engine_names
from cleanplate.engines.diffusion.config import DiffusionConfig
from cleanplate.engines.diffusion.engine import resize_quadmask, working_size
from cleanplate.errors import InputError
from cleanplate import quadmask
from conftest import make_square_clip

SRC = str(Path(cleanplate.__file__).resolve().parents[1])


def _python(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_registers_without_importing_torch():
    done = _python("import sys; import cleanplate.engines as e; e.engine_names(); "
                   "import cleanplate.engines.diffusion; print('torch' in sys.modules, 'diffusers' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_without_torch_the_engine_is_listed_but_unavailable_with_the_install_hint():
    code = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'diffusers'):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, NoTorch())
from cleanplate.engines import engine_names, get_engine
from cleanplate.errors import EngineUnavailable
print('diffusion' in engine_names(), 'diffusion' in engine_names(available_only=True))
try:
    get_engine('diffusion')
except EngineUnavailable as err:
    print(err)
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "True False"
    assert lines[1] == "engine 'diffusion' is not installed — pip install 'cleanplate[diffusion]'"


def test_registered():
    assert "diffusion" in engine_names()


def test_options_are_checked_with_the_fix():
    with pytest.raises(InputError, match="1 \\+ 4k"):
        DiffusionConfig(window=10).check()
    with pytest.raises(InputError, match="between 0 and 1"):
        DiffusionConfig(strength=1.5).check()
    with pytest.raises(InputError, match="unknown sampler"):
        DiffusionConfig(sampler="ddim").check()


def test_without_a_model_the_error_says_how_to_pass_one(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from cleanplate.engines.diffusion import shipped

    monkeypatch.setattr(shipped, "MODELS_DIR", tmp_path)  # an installation that ships no model
    video, masks, _ = make_square_clip(frames=3)
    with pytest.raises(InputError) as err:
        cleanplate.remove(video, masks, engine="diffusion")
    assert str(err.value) == ("-O model: no diffusion model is installed: pass -O model=PATH "
                              "(a cleanplate checkpoint or a Wan2.1/Wan2.1-Fun-InP directory)")
    with pytest.raises(InputError, match="/no/such/model: does not exist"):
        cleanplate.remove(video, masks, engine="diffusion", model="/no/such/model")


def test_working_size_is_a_multiple_of_16_and_never_upscales():
    assert working_size(1920, 1080, 480) == (848, 480)
    assert working_size(832, 480, 480) == (832, 480)
    assert working_size(40, 36, 480) == (32, 32)
    assert working_size(480, 854, 480) == (480, 848)


def test_resized_quadmask_keeps_thin_regions():
    q = np.full((64, 64), quadmask.KEEP, np.uint8)
    q[10, :] = quadmask.REMOVE  # one pixel thick: nearest-neighbour resizing could drop it
    q[40:50, 40:50] = quadmask.AFFECTED
    small = resize_quadmask(q, (16, 16))
    assert (small[2] == quadmask.REMOVE).all()
    assert (small[10:13, 10:13] == quadmask.AFFECTED).all()
    assert small[0, 0] == quadmask.KEEP


# -- end to end on a tiny random checkpoint ---------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from cleanplate.engines.diffusion.model import build_model
    from cleanplate.engines.diffusion.weights import save_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models gain nothing from threads
    yield str(save_model(build_model("tiny", seed=0), tmp_path_factory.mktemp("model") / "tiny"))
    torch.set_num_threads(threads)


def test_api_end_to_end_keeps_pixels_outside_the_hole(checkpoint):
    video, masks, _ = make_square_clip(frames=6)
    out = cleanplate.remove(video, masks, engine="diffusion", model=checkpoint, steps=1, dilate=0, feather=0)
    assert out.shape == video.shape and out.dtype == np.uint8
    assert np.array_equal(out[~masks], video[~masks])
    assert not np.array_equal(out[masks], video[masks])


def test_long_clip_runs_keyframes_then_windows_at_native_size(checkpoint):
    video, masks, _ = make_square_clip(frames=13, size=40)
    stages = []
    out = cleanplate.remove(video, masks, engine="diffusion", model=checkpoint, steps=1, window=5, prior="telea",
                            strength=0.5, progress=lambda stage, done, total: stages.append((stage, done, total)))
    assert out.shape == video.shape
    assert ("windows", 5, 5) in stages  # the keyframe clip and 4 windows
    assert ("fill", 13, 13) in stages


def _write_frames(folder: Path, frames: np.ndarray) -> Path:
    folder.mkdir()
    for i, frame in enumerate(frames):
        image = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR) if frame.ndim == 3 else frame
        cv2.imwrite(str(folder / f"{i:04d}.png"), image)
    return folder


def test_cli_end_to_end_with_a_saved_checkpoint(checkpoint, tmp_path):
    from cleanplate.cli import main

    video, masks, _ = make_square_clip(frames=5)
    frames = _write_frames(tmp_path / "video", video)
    mask = _write_frames(tmp_path / "mask", masks.astype(np.uint8) * 255)
    out = tmp_path / "out"
    code = main(["remove", str(frames), "-m", str(mask), "-o", str(out), "--engine", "diffusion", "--model",
                 checkpoint, "--steps", "1", "--prior", "none", "--second-pass", "-O", "sampler=euler", "--no-progress"])
    assert code == 0
    written = sorted(out.glob("*.png"))
    assert len(written) == 5
    first = cv2.cvtColor(cv2.imread(str(written[0])), cv2.COLOR_BGR2RGB)
    assert np.array_equal(first[~quadmask.dilate_mask(masks[0], 4)], video[0][~quadmask.dilate_mask(masks[0], 4)])


def test_cli_diffusion_flags_need_the_diffusion_engine(tmp_path, capsys):
    from cleanplate.cli import main

    video, masks, _ = make_square_clip(frames=2)
    frames = _write_frames(tmp_path / "video", video)
    mask = _write_frames(tmp_path / "mask", masks.astype(np.uint8) * 255)
    code = main(["remove", str(frames), "-m", str(mask), "-o", str(tmp_path / "out"), "--engine", "telea",
                 "--steps", "4"])
    assert code == 2
    assert "--steps: only applies to --engine diffusion" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_prior_engine_is_named(checkpoint):
    with pytest.raises(InputError, match="-O prior=nope: no such engine"):
        cleanplate.remove(*make_square_clip(frames=2)[:2], engine="diffusion", model=checkpoint, prior="nope")
