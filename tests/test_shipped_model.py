"""The model shipped inside the package: present, small, loads, runs, and is the engine's default."""

import json

import numpy as np
import pytest

import cleanplate
from cleanplate.engines.diffusion.shipped import SHIPPED, model_defaults, shipped_model

MB = 2 ** 20


def test_the_shipped_model_is_in_the_package_and_small_enough():
    folder = shipped_model()
    assert folder is not None and folder.name == SHIPPED
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert all(p.stat().st_size <= 16 * MB for p in files)
    assert sum(p.stat().st_size for p in files) <= 50 * MB
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "UnderEraser" and index["trained"]["weights"] == "ema"
    assert model_defaults(folder) == index["defaults"] and set(index["defaults"]) == {"resolution", "window"}
    # Its training record sits beside it: every stage's loss log and plot, and its config.
    record = folder / "training"
    for stage in (record, record / "shipped-vae-tune", record / "shipped-vae-tune" / "shipped-vae"):
        assert (stage / "loss.png").read_bytes()[:4] == b"\x89PNG"
        records = [json.loads(line) for line in (stage / "loss.jsonl").read_text().splitlines()]
        assert records[0]["step"] == 1 and records[-1]["step"] == json.loads((stage / "run.json").read_text())["config"]["steps"]
    assert (record / "shipped.yaml").is_file() and (record / "shipped-vae-tune" / "shipped-vae-tune.yaml").is_file()


def test_the_engine_without_a_model_uses_the_shipped_one_at_its_working_size():
    pytest.importorskip("torch")
    from cleanplate.engines import get_engine

    engine = get_engine("diffusion")()
    defaults = model_defaults(shipped_model())
    assert engine.config.model == str(shipped_model())
    assert (engine.config.resolution, engine.config.window) == (defaults["resolution"], defaults["window"])
    # An explicit choice still wins over the model's defaults.
    assert get_engine("diffusion")(window=21).config.window == 21


@pytest.fixture(scope="module")
def tiny_clip():
    from conftest import make_square_clip

    video, masks, _ = make_square_clip(frames=9, size=48)
    return video, masks


def test_the_shipped_model_runs_on_a_tiny_clip_deterministically(tiny_clip):
    torch = pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        video, masks = tiny_clip
        runs = [cleanplate.remove(video, masks, engine="diffusion", steps=2, dilate=0, feather=0) for _ in range(2)]
    finally:
        torch.set_num_threads(threads)
    out = runs[0]
    assert out.shape == video.shape and out.dtype == np.uint8
    assert np.array_equal(runs[0], runs[1])  # same seed, same frames
    assert np.array_equal(out[~masks], video[~masks])  # composited: untouched outside the hole
    # Inside the hole the red square is gone: the fill is far from pure red.
    red = np.array([255, 0, 0])
    assert np.abs(out[masks].astype(int) - red).sum(-1).mean() > 100
