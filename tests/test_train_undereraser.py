"""Training the real UnderEraser model: the model kind, its codec, the VAE stage, stages and export."""

import copy
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("yaml")

from cleanplate import quadmask  # noqa: E402
from cleanplate.errors import InputError  # noqa: E402
from cleanplate.train.checkpoint import latest_checkpoint, load_checkpoint  # noqa: E402
from cleanplate.train.config import from_dict  # noqa: E402
from cleanplate.train.data import collate  # noqa: E402
from cleanplate.train.models import build_model  # noqa: E402
from cleanplate.train.toy import ToyPairs  # noqa: E402
from cleanplate.train.trainer import Run, train  # noqa: E402
from cleanplate.train.wrapper import to_torch  # noqa: E402
from train_helpers import config_with, fixed_batch_losses  # noqa: E402

# A two-block DiT with a tiny 4x VAE (random: the machinery, not the quality, is under test).
TINY_VAE = {"base_dim": 4, "z_dim": 4, "dim_mult": [1, 1, 1], "num_res_blocks": 1,
            "temperal_downsample": [True, True], "latents_mean": [0.0] * 4, "latents_std": [1.0] * 4}
TINY_MODEL = {"kind": "undereraser", "options": {"vae": TINY_VAE, "transformer": {"num_layers": 2}}}


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(out_dir, **changes):
    values = {"out_dir": str(out_dir), "steps": 2, "seed": 0, "checkpoint_every": 2,
              "data": {"kind": "toy", "frames": 5, "height": 32, "width": 32, "batch_size": 2},
              "model": copy.deepcopy(TINY_MODEL), "oird": {"weight": 0.1, "head_dim": 8},
              "optim": {"lr": 3e-3, "ema_decay": 0.9}}
    return config_with(values, changes)


def test_denoiser_and_codec_honour_the_training_contract():
    config = tiny("unused")
    denoiser, codec = build_model(config.model)
    sample = ToyPairs(frames=5).read(0)
    batch = to_torch(collate([{**sample, "quadmask": np.where(sample["side"], quadmask.AFFECTED,
                                                              np.where(sample["mask"], quadmask.REMOVE, quadmask.KEEP)
                                                              ).astype(np.uint8), "stride": 0}]), "cpu")
    x0 = codec.encode(batch["gt"])
    assert x0.shape == (1, 4, 2, 8, 8)  # 4x VAE: 5 frames -> 2 latent frames, 32 px -> 8
    cond = codec.condition(batch)
    assert cond["condition"].shape == (1, 4 + 4 + 4, 2, 8, 8)  # known fold, masked latent, affected fold
    assert cond["context_frames"].shape == (1, 2, 3, 32, 32)  # pixel frames 0 and 4
    # The hole is mid grey (0) in the context frames, exactly as the engine's pipeline masks it.
    hole = torch.from_numpy(quadmask.hole(batch["quadmask"].numpy()))[0, [0, 4]]
    assert torch.all(cond["context_frames"][0].permute(1, 0, 2, 3)[:, hole] == 0)
    seen = []
    denoiser.blocks[1].register_forward_hook(lambda m, a, out: seen.append(out.shape))
    v = denoiser(torch.randn_like(x0), torch.tensor([0.5]), cond)
    assert v.shape == x0.shape
    assert denoiser.token_grid(x0.shape) == (2, 4, 4)
    assert seen == [(1, 2 * 4 * 4, 16)]  # hidden states on that grid, as OIRD reads them


def test_context_attention_off_adds_nothing_and_trains_nothing_of_the_context():
    config = tiny("unused", model={"options": {**TINY_MODEL["options"], "context_attention": "off"}})
    denoiser, _ = build_model(config.model)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, 2, 8, 8, generator=g)
    cond = {"condition": torch.randn(1, 12, 2, 8, 8, generator=g),
            "context_frames": torch.rand(1, 2, 3, 32, 32, generator=g) * 2 - 1}
    other = {**cond, "context_frames": -cond["context_frames"]}
    t = torch.tensor([0.3])
    assert torch.equal(denoiser(x, t, cond), denoiser(x, t, other))
    trainable = {n for n, p in denoiser.named_parameters() if p.requires_grad}
    assert not any(n.startswith("context_encoder.") or "add_v_proj" in n or "add_k_proj" in n for n in trainable)
    framewise, _ = build_model(tiny("unused").model)
    assert not torch.equal(framewise(x, t, cond), framewise(x, t, other))  # on: the context matters


def test_two_steps_with_the_tiny_undereraser_reduce_the_loss_on_a_fixed_batch(tmp_path):
    source = [ToyPairs(frames=5).read(0)]
    config = tiny(tmp_path / "run", keyframes={"probability": 0.0})
    before = fixed_batch_losses(Run(tiny(tmp_path / "untrained", keyframes={"probability": 0.0}), False, source), 4)
    train(config, source=source)
    after = fixed_batch_losses(Run(config, True, source), 4)
    assert before[1] > 0  # OIRD had object x side-effect pairs to work on
    assert after[0] < before[0] and after[1] < before[1]


def test_resume_with_the_tiny_undereraser_is_bit_for_bit(tmp_path):
    changes = {"optim": {"warmup_steps": 2}}
    train(tiny(tmp_path / "straight", steps=3, **changes))
    train(tiny(tmp_path / "halves", steps=1, checkpoint_every=1, **changes))
    torch.rand(3)  # disturb the RNG between the halves
    train(tiny(tmp_path / "halves", steps=3, **changes), resume=True)
    a, state_a = load_checkpoint(latest_checkpoint(tmp_path / "straight"))
    b, state_b = load_checkpoint(latest_checkpoint(tmp_path / "halves"))
    assert state_a["step"] == state_b["step"] == 3 and set(a) == set(b)
    assert any(k.startswith("denoiser.transformer.wan.blocks.") for k in a)
    assert any(k.startswith("denoiser.context_encoder.") for k in a) and any(k.startswith("head.") for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    key = "denoiser.transformer.wan.proj_out.weight"
    assert not torch.equal(a[key], a["ema." + key[len("denoiser."):]])  # the weights moved


# -- stage 1: the VAE --------------------------------------------------------------------------------
VAE_MODEL = {"kind": "wan-vae", "options": {"config": {k: v for k, v in TINY_VAE.items() if not k.startswith("latents")},
                                            "kl_weight": 1e-3}}


def test_vae_stage_reduces_the_reconstruction_error_and_exports_normalised_latents(tmp_path):
    from cleanplate.train.export import export_vae
    from cleanplate.train.undereraser import UnderEraserCodec, load_vae

    config = tiny(tmp_path / "vae", model=VAE_MODEL, steps=4, checkpoint_every=4, keyframes={"probability": 0.0},
                  optim={"lr": 1e-2})
    source = [ToyPairs(frames=5).read(0)]  # one clip: the error must fall on it
    train(config, source=source)
    records = [json.loads(line) for line in (tmp_path / "vae" / "loss.jsonl").read_text().splitlines()]
    assert [sorted(r)[:3] for r in records[:1]] == [["grad_norm", "kl", "loss"]]
    assert records[-1]["recon"] < records[0]["recon"]
    assert json.loads((tmp_path / "vae" / "run.json").read_text())["teacher"] is None  # no OIRD in stage 1
    folder = export_vae(tmp_path / "vae", tmp_path / "vae-model", samples=2)
    vae = load_vae(folder)
    assert vae.config.z_dim == 4 and len(vae.config.latents_mean) == 4
    # The stored statistics normalise the latents of the clips they were measured on (the config's data).
    run = Run(config, True)
    videos = torch.cat([to_torch(collate([run.stream.sample(k)]), "cpu")["gt"] for k in range(2)])
    z = UnderEraserCodec(vae).encode(videos)
    assert torch.allclose(z.mean((0, 2, 3, 4)), torch.zeros(4), atol=1e-4)
    assert torch.allclose(z.std((0, 2, 3, 4), unbiased=False), torch.ones(4), atol=1e-3)
    assert (folder / "training" / "loss.jsonl").is_file()


def test_a_required_stage_is_trained_first_then_skipped_and_the_model_is_exported(tmp_path, monkeypatch):
    from cleanplate.engines.diffusion.weights import load_model

    monkeypatch.chdir(tmp_path)
    (tmp_path / "vae.yaml").write_text(json.dumps({
        "out_dir": "runs/vae", "steps": 1, "checkpoint_every": 1, "export": "vae-model", "model": VAE_MODEL,
        "data": {"kind": "toy", "frames": 5, "height": 32, "width": 32, "batch_size": 1}}))
    config = tiny("runs/dit", requires=["vae.yaml"], export="model", steps=1, checkpoint_every=1,
                  model={"options": {"vae": "vae-model", "transformer": {"num_layers": 2}}})
    train(config)
    assert latest_checkpoint("runs/vae").name == "step-0000001"
    vae_weights = (tmp_path / "vae-model" / "diffusion_pytorch_model.safetensors").read_bytes()
    model = load_model(tmp_path / "model")
    index = json.loads((tmp_path / "model" / "model_index.json").read_text())
    assert index["defaults"] == {"resolution": 32, "window": 5}
    assert (tmp_path / "model" / "training" / "loss.png").is_file()
    assert (tmp_path / "model" / "training" / "vae" / "loss.jsonl").is_file()
    # The exported model computes what the trained denoiser's EMA weights compute.
    from cleanplate.train.checkpoint import denoiser_weights

    denoiser, _ = build_model(config.model)
    denoiser.load_state_dict(denoiser_weights("runs/dit"))
    for name, value in model.transformer.state_dict().items():
        assert torch.equal(value, denoiser.transformer.state_dict()[name]), name
    # A second run of a config that requires a finished stage leaves that stage alone.
    train(tiny("runs/dit2", requires=["vae.yaml"], steps=1, checkpoint_every=1,
               model={"options": {"vae": "vae-model", "transformer": {"num_layers": 2}}}))
    assert (tmp_path / "vae-model" / "diffusion_pytorch_model.safetensors").read_bytes() == vae_weights


def test_bad_undereraser_options_say_what_is_valid():
    with pytest.raises(InputError, match="context_attention.*framewise, off"):
        build_model(tiny("x", model={"options": {"context_attention": "first"}}).model)
    with pytest.raises(InputError, match="not a VAE folder"):
        build_model(tiny("x", model={"options": {"vae": "/no/such/vae"}}).model)
    with pytest.raises(InputError, match="preset.*tiny"):
        build_model(tiny("x", model={"options": {"preset": "huge", "vae": TINY_VAE}}).model)


# -- synthetic pairs ---------------------------------------------------------------------------------
def test_synth_source_renders_seeded_pairs_resized_as_the_engine_resizes():
    pytest.importorskip("cleanplate.bench.synth")
    from cleanplate.bench.synth import generate_clip
    from cleanplate.train.data import build_source

    config = from_dict({"data": {"kind": "synth", "frames": 5, "height": 24, "width": 40,
                                 "options": {"seed": 7, "size": [80, 48], "categories": ["shadow"]}}})
    source = build_source(config.data)
    a, b = source.read(2), source.read(2)
    assert a["input"].shape == (5, 24, 40, 3) and a["mask"].shape == (5, 24, 40)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    full = generate_clip(9, "shadow", (80, 48), 5)  # seed 7 + index 2
    assert a["mask"].sum() >= full.object.sum() / 4  # any covered pixel stays covered: never thinner
    assert a["side"].any() and not (a["side"] & a["mask"]).any()
    with pytest.raises(InputError, match="not an option of data.kind=synth"):
        build_source(from_dict({"data": {"kind": "synth", "options": {"colour": 1}}}).data)
