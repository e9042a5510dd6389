"""cleanplate demo, end to end at a tiny size with the telea engine."""

import sys
import types

import numpy as np
import pytest

from cleanplate import demo
from cleanplate.io import open_video


def test_demo_writes_videos_and_scores_the_removal(tmp_path):
    result = demo.run_demo(tmp_path / "d", engine="telea", size=(96, 64), frames=6)
    for path in (result.input, result.output, result.side_by_side, result.mask):
        assert path.is_file()
        assert open_video(path).info.num_frames == 6
    assert open_video(result.side_by_side).info.width == 192
    assert result.engine == "telea"
    # Filling the hole beats leaving the object there.
    assert result.psnr_hole > result.psnr_input_hole
    assert result.psnr > result.psnr_hole
    # Running again rewrites the same files.
    again = demo.run_demo(tmp_path / "d", engine="telea", size=(96, 64), frames=6)
    assert again.psnr == pytest.approx(result.psnr)


def test_demo_uses_side_effects_when_the_module_provides_them(tmp_path, monkeypatch):
    calls = []

    def add_side_effects(clip, progress=None, config=None):
        calls.append(len(clip))
        return clip

    fake = types.ModuleType("cleanplate.sideeffects")
    fake.add_side_effects = add_side_effects
    monkeypatch.setitem(sys.modules, "cleanplate.sideeffects", fake)
    assert demo.side_effects_mode() == "auto"
    result = demo.run_demo(tmp_path, engine="telea", size=(64, 48), frames=3)
    assert result.side_effects == "auto" and calls == [3]


def test_demo_falls_back_to_object_only_without_the_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "cleanplate.sideeffects", None)  # import fails
    assert demo.side_effects_mode() == "off"


def test_cli_demo_prints_paths_and_psnr(tmp_path, capsys):
    from cleanplate.cli import main

    assert main(["demo", "--out", str(tmp_path), "-e", "telea", "--size", "64x48", "--frames", "4", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert str(tmp_path / "output.mp4") in text and "PSNR" in text and "dB in the hole" in text
