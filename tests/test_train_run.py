"""The training run: config, checkpoints, EMA, loss log, the loop, bit-for-bit resume and the CLI."""

import json
import os
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("yaml")

from cleanplate.cli import main  # noqa: E402
from cleanplate.errors import InputError  # noqa: E402
from cleanplate.train.checkpoint import (latest_checkpoint, load_checkpoint, mark_latest,  # noqa: E402
                                         save_checkpoint)
from cleanplate.train.config import TrainConfig, from_dict, load_config  # noqa: E402
from cleanplate.train.ema import EMA  # noqa: E402
from cleanplate.train.log import LossLog, plot_log  # noqa: E402
from cleanplate.train.toy import ToyPairs  # noqa: E402
from cleanplate.train.trainer import Run, train  # noqa: E402
from train_helpers import config_with, fixed_batch_losses  # noqa: E402


def tiny(out_dir, **changes):
    values = {"out_dir": str(out_dir), "steps": 2, "seed": 0, "checkpoint_every": 2,
              "data": {"kind": "toy", "frames": 9, "height": 32, "width": 32, "batch_size": 2},
              "model": {"kind": "toy", "options": {"dim": 16, "depth": 2}},
              "oird": {"weight": 0.1, "head_dim": 16},
              "optim": {"lr": 1e-3, "ema_decay": 0.9}}
    return config_with(values, changes)


# -- config -------------------------------------------------------------------------------------
def test_config_refuses_unknown_keys_and_wrong_types(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("steps: 3\noird: {weigth: 0.2}\n")
    with pytest.raises(InputError, match=r"oird.weigth.*valid here: weight"):
        load_config(path)
    path.write_text("steps: many\n")
    with pytest.raises(InputError, match="must be an integer"):
        load_config(path)
    path.write_text("keyframes: {min_stride: 1}\n")
    with pytest.raises(InputError, match="keyframes.min_stride"):
        load_config(path)
    path.write_text("optim: {lr: 1}\ndata: {path: null}\n")
    config = load_config(path)
    assert config.optim.lr == 1.0 and isinstance(config.optim.lr, float)
    assert config.out_dir == os.path.join("runs", "c")  # named after the config file


def test_defaults_follow_the_paper_and_the_bundled_config_loads():
    config = TrainConfig()
    assert config.oird.weight == 0.1 and config.oird.delta == 0.1 and config.oird.block is None
    assert (config.keyframes.min_stride, config.keyframes.max_stride) == (2, 10)
    assert config.shard_mb == 16
    assert load_config("toy").model.kind == "toy"
    with pytest.raises(InputError, match="bundled config name"):
        load_config("no-such-config")


# -- checkpoints, EMA, log ----------------------------------------------------------------------
def test_checkpoint_shards_stay_under_the_limit_and_round_trip_exactly(tmp_path):
    g = torch.Generator().manual_seed(0)
    tensors = {"big": torch.randn(3000, generator=g),  # 12000 bytes: split across shards
               "half": torch.randn(40, 7, generator=g).to(torch.bfloat16),
               "steps": torch.arange(10), "flag": torch.tensor(True)}
    folder = save_checkpoint(tmp_path / "ck" / "step-0000001", tensors, {"step": 1}, shard_bytes=4096)
    files = sorted(folder.glob("*.safetensors"))
    assert len(files) >= 3 and all(f.stat().st_size <= 4096 for f in files)
    loaded, state = load_checkpoint(folder)
    assert state == {"step": 1}
    assert set(loaded) == set(tensors)
    for key, value in tensors.items():
        assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value)
    assert not (tmp_path / "ck" / "step-0000001.partial").exists()


def test_latest_points_at_the_newest_and_old_checkpoints_are_pruned(tmp_path):
    for step in (1, 2, 3):
        folder = save_checkpoint(tmp_path / "checkpoints" / f"step-{step:07d}", {"x": torch.zeros(1)}, {})
        mark_latest(folder, keep=2)
    assert latest_checkpoint(tmp_path).name == "step-0000003"
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("step-*")) == ["step-0000002", "step-0000003"]


def test_ema_moves_toward_the_weights_by_one_minus_decay():
    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = EMA(model, decay=0.75)
    with torch.no_grad():
        model.weight.fill_(5.0)
    ema.update(model)
    assert torch.allclose(ema.state_dict()["weight"], torch.full((1, 2), 2.0))
    other = EMA(model, decay=0.75)
    other.load_state_dict(ema.state_dict())
    assert torch.equal(other.state_dict()["weight"], ema.state_dict()["weight"])


def test_loss_log_truncates_on_resume_and_plots(tmp_path):
    log = LossLog(tmp_path / "loss.jsonl")
    for step in range(1, 6):
        log.write({"step": step, "loss": 1.0 / step})
    log.truncate(3)
    assert [r["step"] for r in log.read()] == [1, 2, 3]
    png = plot_log(log.read(), tmp_path / "loss.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the loop -----------------------------------------------------------------------------------
def test_two_training_steps_reduce_the_loss_on_a_fixed_batch(tmp_path):
    source = [ToyPairs().read(0)]  # every batch is this one clip, without keyframes
    config = tiny(tmp_path / "run", keyframes={"probability": 0.0})
    before = fixed_batch_losses(Run(tiny(tmp_path / "untrained", keyframes={"probability": 0.0}), False, source))
    train(config, source=source)
    after = fixed_batch_losses(Run(config, True, source))
    assert after[0] < before[0] and after[1] < before[1]
    records = LossLog(tmp_path / "run" / "loss.jsonl").read()
    assert [r["step"] for r in records] == [1, 2]
    assert {"loss", "flow", "oird", "lr", "grad_norm", "samples"} <= set(records[0])
    assert records[-1]["samples"] == 4
    assert (tmp_path / "run" / "loss.png").is_file()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["teacher"] == "colour-gradient"


def final_state(out_dir):
    tensors, state = load_checkpoint(latest_checkpoint(out_dir))
    return tensors, state


def test_resume_continues_bit_for_bit(tmp_path):
    changes = {"optim": {"grad_accum": 2, "warmup_steps": 3}, "data": {"height": 16, "width": 16}}
    train(tiny(tmp_path / "straight", steps=4, **changes))
    train(tiny(tmp_path / "halves", steps=2, **changes))
    random.random(), np.random.rand(), torch.rand(3)  # disturb every RNG between the halves
    train(tiny(tmp_path / "halves", steps=4, **changes), resume=True)
    (a, state_a), (b, state_b) = final_state(tmp_path / "straight"), final_state(tmp_path / "halves")
    assert state_a["step"] == state_b["step"] == 4 and state_a["samples_seen"] == state_b["samples_seen"] == 16
    assert set(a) == set(b) and any(k.startswith("ema.") for k in a) and any(k.startswith("optim.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log_a = LossLog(tmp_path / "straight" / "loss.jsonl").read()
    log_b = LossLog(tmp_path / "halves" / "loss.jsonl").read()
    assert all(r["oird"] > 0 for r in log_a)  # OIRD, keyframes and accumulation all took part
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in log_a]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in log_b]
    # The trained weights really moved: the check above is not comparing two copies of the init.
    assert not torch.equal(a["denoiser.proj_out.weight"], a["ema.proj_out.weight"])


def test_a_run_neither_overwrites_nor_resumes_from_nothing(tmp_path):
    with pytest.raises(InputError, match="no checkpoint"):
        train(tiny(tmp_path / "run"), resume=True)
    train(tiny(tmp_path / "run", steps=1))
    with pytest.raises(InputError, match="--resume"):
        train(tiny(tmp_path / "run", steps=1))


# -- the command --------------------------------------------------------------------------------
def test_cli_trains_from_a_yaml_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "tiny.yaml"
    config.write_text("out_dir: out\nsteps: 2\ncheckpoint_every: 1\nkeep_checkpoints: 1\n"
                      "model: {kind: toy, options: {dim: 8, depth: 2}}\noird: {head_dim: 8}\n")
    assert main(["train", str(config), "--no-progress"]) == 0
    assert "step 2" in capsys.readouterr().out
    assert latest_checkpoint(tmp_path / "out").name == "step-0000002"
    assert [p.name for p in (tmp_path / "out" / "checkpoints").glob("step-*")] == ["step-0000002"]
    config.write_text("steps: 0\n")
    assert main(["train", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "steps=0" in err and len(err.strip().splitlines()) == 1


def test_trained_denoiser_weights_load_into_a_fresh_model(tmp_path):
    from cleanplate.train.checkpoint import denoiser_weights
    from cleanplate.train.log import running_mean
    from cleanplate.train.toy import build_toy

    train(tiny(tmp_path / "run", steps=1, checkpoint_every=1))
    denoiser, _ = build_toy(dim=16, depth=2)
    ema, raw = denoiser_weights(tmp_path / "run"), denoiser_weights(tmp_path / "run", ema=False)
    denoiser.load_state_dict(ema)
    assert not torch.equal(ema["proj_in.weight"], raw["proj_in.weight"])
    assert running_mean([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_unknown_model_kinds_and_options_list_the_valid_ones():
    from cleanplate.train.config import ModelConfig
    from cleanplate.train.data import build_source
    from cleanplate.train.models import build_model

    with pytest.raises(InputError, match="choose one of: toy"):
        build_model(ModelConfig(kind="nope"))
    with pytest.raises(InputError, match="not accepted"):
        build_model(ModelConfig(kind="toy", options={"width": 3}))
    with pytest.raises(InputError, match="choose one of: toy, folder, python"):
        build_source(from_dict({"data": {"kind": "nope"}}).data)
