"""Checkpoints: cleanplate's format round trip, strict loading, and real Wan2.1 names and layouts."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from diffusers import AutoencoderKLWan, WanTransformer3DModel  # noqa: E402
from diffusers.loaders.single_file_utils import (convert_wan_transformer_to_diffusers,  # noqa: E402
                                                 convert_wan_vae_to_diffusers)

from cleanplate import quadmask  # noqa: E402
from cleanplate.engines.diffusion import wan_names  # noqa: E402
from cleanplate.engines.diffusion.context import ClipContextEncoder  # noqa: E402
from cleanplate.engines.diffusion.model import TINY, ModelSpec, build_model  # noqa: E402
from cleanplate.engines.diffusion.pipeline import UnderEraserPipeline  # noqa: E402
from cleanplate.engines.diffusion.weights import MAX_SHARD_BYTES, clip_names_for, load_model, save_model  # noqa: E402
from cleanplate.errors import InputError, OutputError  # noqa: E402
from conftest import make_square_clip  # noqa: E402

TINY_CLIP = dict(kind="clip", hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                 patch_size=8, image_size=16, hidden_act="gelu")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- cleanplate checkpoints -----------------------------------------------------------------------

def test_save_load_round_trip_gives_the_same_model_and_output(tmp_path):
    model = build_model("tiny", seed=1)
    path = save_model(model, tmp_path / "ckpt")
    assert json.loads((path / "model_index.json").read_text())["_class_name"] == "UnderEraser"
    loaded = load_model(path)
    assert _same_weights(model, loaded)
    assert torch.equal(model.text_context, loaded.text_context)
    video, masks, _ = make_square_clip(frames=5)
    q = quadmask.from_binary(masks)
    out_a = UnderEraserPipeline(model)(video, q, steps=1)
    out_b = UnderEraserPipeline(loaded)(video, q, steps=1)
    assert np.array_equal(out_a, out_b)


def test_large_weights_are_split_into_shards_that_load_back(tmp_path):
    assert MAX_SHARD_BYTES == 16 * 2**20
    model = build_model("tiny")
    path = save_model(model, tmp_path / "ckpt", max_shard_bytes=20_000)
    shards = sorted((path / "transformer").glob("diffusion_pytorch_model-*-of-*.safetensors"))
    assert len(shards) > 1
    index = json.loads((path / "transformer" / "diffusion_pytorch_model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(model.transformer.wan.state_dict())
    assert _same_weights(model, load_model(path))


def test_clip_context_encoder_round_trips(tmp_path):
    spec = ModelSpec(transformer=dict(TINY.transformer), vae=TINY.vae, context=TINY_CLIP, text_len=4)
    model = build_model(spec)
    loaded = load_model(save_model(model, tmp_path / "ckpt"))
    assert isinstance(loaded.context_encoder, ClipContextEncoder)
    assert loaded.context_encoder.num_tokens == 5
    assert _same_weights(model, loaded)


def test_saving_over_an_existing_checkpoint_needs_overwrite(tmp_path):
    model = build_model("tiny")
    save_model(model, tmp_path / "ckpt")
    with pytest.raises(OutputError, match="already exists"):
        save_model(model, tmp_path / "ckpt")
    save_model(build_model("tiny", seed=2), tmp_path / "ckpt", overwrite=True)
    assert _same_weights(build_model("tiny", seed=2), load_model(tmp_path / "ckpt"))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]  # no temporary left behind


def test_loading_is_strict_and_lists_the_keys(tmp_path):
    from safetensors.torch import load_file, save_file

    path = save_model(build_model("tiny"), tmp_path / "ckpt")
    weights = path / "transformer" / "diffusion_pytorch_model.safetensors"
    state = load_file(str(weights))
    del state["blocks.1.ffn.net.2.bias"]
    state["blocks.1.surprise"] = torch.zeros(1)
    save_file(state, str(weights))
    with pytest.raises(InputError) as err:
        load_model(path)
    assert "missing 1: blocks.1.ffn.net.2.bias" in str(err.value)
    assert "unexpected 1: blocks.1.surprise" in str(err.value)


def test_no_model_and_missing_paths_say_what_is_needed(tmp_path):
    with pytest.raises(InputError) as err:
        load_model(None)
    assert str(err.value).endswith("no diffusion model is installed: pass -O model=PATH "
                                   "(a cleanplate checkpoint or a Wan2.1/Wan2.1-Fun-InP directory)")
    with pytest.raises(InputError, match="nowhere.*does not exist"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no Wan2.1 transformer weights"):
        load_model(tmp_path / "empty")


# -- Wan2.1 original names --------------------------------------------------------------------------

def original_transformer(dim=16, ffn=32, text_dim=16, freq=16, in_dim=36, out=16, layers=2, img_dim=16, i2v=True):
    """A Wan2.1 ``WanModel`` state dict with the original names and shapes, at a tiny size."""
    g = torch.Generator().manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, generator=g)

    sd = {"patch_embedding.weight": r(dim, in_dim, 1, 2, 2), "patch_embedding.bias": r(dim)}
    for name, fan_in in (("text_embedding.0", text_dim), ("text_embedding.2", dim),
                         ("time_embedding.0", freq), ("time_embedding.2", dim)):
        sd[f"{name}.weight"], sd[f"{name}.bias"] = r(dim, fan_in), r(dim)
    sd["time_projection.1.weight"], sd["time_projection.1.bias"] = r(6 * dim, dim), r(6 * dim)
    sd["head.head.weight"], sd["head.head.bias"] = r(out * 4, dim), r(out * 4)
    sd["head.modulation"] = r(1, 2, dim)
    for i in range(layers):
        b = f"blocks.{i}."
        for attn in ("self_attn", "cross_attn"):
            for p in "qkvo":
                sd[f"{b}{attn}.{p}.weight"], sd[f"{b}{attn}.{p}.bias"] = r(dim, dim), r(dim)
            sd[f"{b}{attn}.norm_q.weight"], sd[f"{b}{attn}.norm_k.weight"] = r(dim), r(dim)
        if i2v:
            for p in ("k_img", "v_img"):
                sd[f"{b}cross_attn.{p}.weight"], sd[f"{b}cross_attn.{p}.bias"] = r(dim, dim), r(dim)
            sd[f"{b}cross_attn.norm_k_img.weight"] = r(dim)
        sd[f"{b}norm3.weight"], sd[f"{b}norm3.bias"] = r(dim), r(dim)
        sd[f"{b}ffn.0.weight"], sd[f"{b}ffn.0.bias"] = r(ffn, dim), r(ffn)
        sd[f"{b}ffn.2.weight"], sd[f"{b}ffn.2.bias"] = r(dim, ffn), r(dim)
        sd[f"{b}modulation"] = r(1, 6, dim)
    if i2v:
        sd["img_emb.proj.0.weight"], sd["img_emb.proj.0.bias"] = r(img_dim), r(img_dim)
        sd["img_emb.proj.1.weight"], sd["img_emb.proj.1.bias"] = r(img_dim, img_dim), r(img_dim)
        sd["img_emb.proj.3.weight"], sd["img_emb.proj.3.bias"] = r(dim, img_dim), r(dim)
        sd["img_emb.proj.4.weight"], sd["img_emb.proj.4.bias"] = r(dim), r(dim)
    return sd


def test_original_transformer_names_map_onto_diffusers_wan_exactly():
    original = original_transformer()
    mapped = wan_names.transformer_from_original(original)
    oracle = convert_wan_transformer_to_diffusers(dict(original))
    assert set(mapped) == set(oracle) and all(torch.equal(mapped[k], oracle[k]) for k in mapped)
    config = wan_names.infer_transformer_config(mapped, num_heads=2)
    assert config["num_layers"] == 2 and config["in_channels"] == 36 and config["image_dim"] == 16
    model = WanTransformer3DModel(**config)
    model.load_state_dict(mapped, strict=True)
    assert torch.equal(model.blocks[1].norm2.weight, original["blocks.1.norm3.weight"])
    assert torch.equal(model.blocks[0].attn2.add_v_proj.weight, original["blocks.0.cross_attn.v_img.weight"])
    assert torch.equal(model.scale_shift_table, original["head.modulation"])


def test_prefixed_original_names_are_stripped():
    original = {"model.diffusion_model." + k: v for k, v in original_transformer().items()}
    mapped = wan_names.transformer_from_original(original)
    assert "blocks.0.attn1.to_out.0.weight" in mapped and not any(k.startswith("model.") for k in mapped)


def original_vae(base=4, mult=(1, 2, 4, 4), blocks=2, temporal=(False, True, True), z=16):
    """A ``Wan2.1_VAE.pth`` state dict with the original names and shapes, at a tiny width."""
    g = torch.Generator().manual_seed(0)
    sd = {}

    def r(*shape):
        return torch.randn(*shape, generator=g)

    def resblock(p, i, o):
        sd.update({f"{p}.residual.0.gamma": r(i, 1, 1, 1), f"{p}.residual.2.weight": r(o, i, 3, 3, 3),
                   f"{p}.residual.2.bias": r(o), f"{p}.residual.3.gamma": r(o, 1, 1, 1),
                   f"{p}.residual.6.weight": r(o, o, 3, 3, 3), f"{p}.residual.6.bias": r(o)})
        if i != o:
            sd.update({f"{p}.shortcut.weight": r(o, i, 1, 1, 1), f"{p}.shortcut.bias": r(o)})

    def middle(p, d):
        resblock(f"{p}.middle.0", d, d)
        sd.update({f"{p}.middle.1.norm.gamma": r(d, 1, 1), f"{p}.middle.1.to_qkv.weight": r(3 * d, d, 1, 1),
                   f"{p}.middle.1.to_qkv.bias": r(3 * d), f"{p}.middle.1.proj.weight": r(d, d, 1, 1),
                   f"{p}.middle.1.proj.bias": r(d)})
        resblock(f"{p}.middle.2", d, d)

    levels = len(mult)
    dims = [base * m for m in (1, *mult)]
    sd.update({"encoder.conv1.weight": r(dims[0], 3, 3, 3, 3), "encoder.conv1.bias": r(dims[0])})
    k = 0
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        for _ in range(blocks):
            resblock(f"encoder.downsamples.{k}", d_in, d_out)
            d_in, k = d_out, k + 1
        if i < levels - 1:
            sd.update({f"encoder.downsamples.{k}.resample.1.weight": r(d_out, d_out, 3, 3),
                       f"encoder.downsamples.{k}.resample.1.bias": r(d_out)})
            if temporal[i]:
                sd.update({f"encoder.downsamples.{k}.time_conv.weight": r(d_out, d_out, 3, 1, 1),
                           f"encoder.downsamples.{k}.time_conv.bias": r(d_out)})
            k += 1
    middle("encoder", dims[-1])
    sd.update({"encoder.head.0.gamma": r(dims[-1], 1, 1, 1), "encoder.head.2.weight": r(2 * z, dims[-1], 3, 3, 3),
               "encoder.head.2.bias": r(2 * z), "conv1.weight": r(2 * z, 2 * z, 1, 1, 1), "conv1.bias": r(2 * z),
               "conv2.weight": r(z, z, 1, 1, 1), "conv2.bias": r(z)})
    dims = [base * m for m in (mult[-1], *mult[::-1])]
    sd.update({"decoder.conv1.weight": r(dims[0], z, 3, 3, 3), "decoder.conv1.bias": r(dims[0])})
    middle("decoder", dims[0])
    k = 0
    up = temporal[::-1]
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        if i > 0:
            d_in //= 2
        for _ in range(blocks + 1):
            resblock(f"decoder.upsamples.{k}", d_in, d_out)
            d_in, k = d_out, k + 1
        if i < levels - 1:
            sd.update({f"decoder.upsamples.{k}.resample.1.weight": r(d_out // 2, d_out, 3, 3),
                       f"decoder.upsamples.{k}.resample.1.bias": r(d_out // 2)})
            if up[i]:
                sd.update({f"decoder.upsamples.{k}.time_conv.weight": r(2 * d_out, d_out, 3, 1, 1),
                           f"decoder.upsamples.{k}.time_conv.bias": r(2 * d_out)})
            k += 1
    sd.update({"decoder.head.0.gamma": r(dims[-1], 1, 1, 1), "decoder.head.2.weight": r(3, dims[-1], 3, 3, 3),
               "decoder.head.2.bias": r(3)})
    return sd


def test_original_vae_names_map_onto_diffusers_exactly():
    original = original_vae()
    mapped = wan_names.vae_from_original(original)
    oracle = convert_wan_vae_to_diffusers(dict(original))
    assert set(mapped) == set(oracle) and all(torch.equal(mapped[k], oracle[k]) for k in mapped)
    config = wan_names.infer_vae_config(original)
    assert config == dict(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                          temperal_downsample=[False, True, True])
    AutoencoderKLWan(**config).load_state_dict(mapped, strict=True)


def test_original_vae_mapping_follows_other_depths():
    original = original_vae(mult=(1, 1, 1, 1), blocks=1)
    config = wan_names.infer_vae_config(original)
    assert config["num_res_blocks"] == 1 and config["dim_mult"] == [1, 1, 1, 1]
    AutoencoderKLWan(**config).load_state_dict(wan_names.vae_from_original(original), strict=True)


def original_clip(dim=160, layers=3, patch=14, image=28, mlp=4):
    """Wan's open-clip ViT (``visual.*``, plus a text tower that is not used), tiny."""
    g = torch.Generator().manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, generator=g) * 0.1

    tokens = (image // patch) ** 2 + 1
    sd = {"visual.patch_embedding.weight": r(dim, 3, patch, patch), "visual.cls_embedding": r(1, 1, dim),
          "visual.pos_embedding": r(1, tokens, dim), "visual.pre_norm.weight": 1 + r(dim),
          "visual.pre_norm.bias": r(dim), "visual.post_norm.weight": 1 + r(dim), "visual.post_norm.bias": r(dim),
          "visual.head": r(dim, 8), "textual.token_embedding.weight": r(10, 8), "log_scale": r(1)}
    for i in range(layers):
        p = f"visual.transformer.{i}."
        sd.update({p + "norm1.weight": 1 + r(dim), p + "norm1.bias": r(dim), p + "norm2.weight": 1 + r(dim),
                   p + "norm2.bias": r(dim), p + "attn.to_qkv.weight": r(3 * dim, dim), p + "attn.to_qkv.bias": r(3 * dim),
                   p + "attn.proj.weight": r(dim, dim), p + "attn.proj.bias": r(dim),
                   p + "mlp.0.weight": r(mlp * dim, dim), p + "mlp.0.bias": r(mlp * dim),
                   p + "mlp.2.weight": r(dim, mlp * dim), p + "mlp.2.bias": r(dim)})
    return sd


def wan_clip_penultimate(sd, x, heads):
    """Wan's ``VisionTransformer.forward(x, use_31_block=True)``, written out from the original module."""
    import torch.nn.functional as F

    w = sd["visual.patch_embedding.weight"]
    dim = w.shape[0]
    h = F.conv2d(x, w, stride=w.shape[-1]).flatten(2).transpose(1, 2)
    h = torch.cat([sd["visual.cls_embedding"].expand(len(x), -1, -1), h], 1) + sd["visual.pos_embedding"]
    h = F.layer_norm(h, (dim,), sd["visual.pre_norm.weight"], sd["visual.pre_norm.bias"])
    layers = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("visual.transformer."))
    for i in range(layers - 1):  # every block but the last
        p = f"visual.transformer.{i}."
        y = F.layer_norm(h, (dim,), sd[p + "norm1.weight"], sd[p + "norm1.bias"])
        b, s, _ = y.shape
        q, k, v = F.linear(y, sd[p + "attn.to_qkv.weight"], sd[p + "attn.to_qkv.bias"]).view(b, s, 3, heads, -1).unbind(2)
        a = torch.softmax(torch.einsum("bqnd,bknd->bnqk", q, k) / q.shape[-1] ** 0.5, -1)
        y = torch.einsum("bnqk,bknd->bqnd", a, v).flatten(2)
        h = h + F.linear(y, sd[p + "attn.proj.weight"], sd[p + "attn.proj.bias"])
        y = F.layer_norm(h, (dim,), sd[p + "norm2.weight"], sd[p + "norm2.bias"])
        y = F.linear(F.gelu(F.linear(y, sd[p + "mlp.0.weight"], sd[p + "mlp.0.bias"])), sd[p + "mlp.2.weight"], sd[p + "mlp.2.bias"])
        h = h + y
    return h


def test_original_clip_maps_to_transformers_with_the_same_penultimate_features():
    from transformers import CLIPVisionConfig, CLIPVisionModel

    original = original_clip()
    state, config = wan_names.clip_from_original(original)
    assert config["num_attention_heads"] == 2 and config["image_size"] == 28 and config["num_hidden_layers"] == 3
    model = CLIPVisionModel(CLIPVisionConfig(**config)).eval()
    model.load_state_dict(clip_names_for(model, state), strict=True)
    x = torch.randn(2, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = model(pixel_values=x, output_hidden_states=True).hidden_states[-2]
    torch.testing.assert_close(ours, wan_clip_penultimate(original, x, heads=2), rtol=1e-4, atol=1e-5)


# -- Wan2.1 folders ---------------------------------------------------------------------------------

def test_original_layout_fun_inp_folder_loads_with_extra_channels_zeroed(tmp_path):
    from safetensors.torch import save_file

    transformer = original_transformer()
    save_file(transformer, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"_class_name": "WanModel", "dim": 16, "num_heads": 2,
                                                      "in_dim": 36, "model_type": "i2v", "text_len": 4}))
    torch.save(original_vae(mult=(1, 1, 1, 1), blocks=1), tmp_path / "Wan2.1_VAE.pth")
    torch.save(original_clip(dim=16, patch=8, image=16), tmp_path / "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth")
    model = load_model(tmp_path)
    weight = model.transformer.wan.patch_embedding.weight
    assert weight.shape[1] == 40
    assert torch.equal(weight[:, :36], transformer["patch_embedding.weight"])
    assert weight[:, 36:].abs().sum() == 0
    assert isinstance(model.context_encoder, ClipContextEncoder) and model.context_encoder.num_tokens == 5
    assert model.text_context.shape == (1, 4, 16) and model.text_context.abs().sum() == 0
    video, masks, _ = make_square_clip(frames=5)
    out = UnderEraserPipeline(model)(video, quadmask.from_binary(masks), steps=1)
    assert out.shape == video.shape


def test_t2v_checkpoint_gets_a_context_branch_that_changes_nothing(tmp_path):
    from safetensors.torch import save_file

    original = original_transformer(in_dim=16, i2v=False)
    save_file(original, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps({"dim": 16, "num_heads": 2, "text_len": 4}))
    torch.save(original_vae(mult=(1, 1, 1, 1), blocks=1), tmp_path / "Wan2.1_VAE.pth")
    model = load_model(tmp_path).transformer.eval()
    t2v = WanTransformer3DModel(**wan_names.infer_transformer_config(
        wan_names.transformer_from_original(original), num_heads=2)).eval()
    t2v.load_state_dict(wan_names.transformer_from_original(original), strict=True)
    g = torch.Generator().manual_seed(0)
    latents, text, t = torch.randn(1, 16, 2, 4, 4, generator=g), torch.randn(1, 4, 16, generator=g), torch.tensor([400.0])
    dim = model.config.image_dim
    with torch.no_grad():
        a = model(latents, t, torch.randn(1, 24, 2, 4, 4, generator=g), torch.randn(1, 2, 196, dim, generator=g), text)
        b = model(latents, t, torch.randn(1, 24, 2, 4, 4, generator=g), torch.randn(1, 2, 196, dim, generator=g), text)
        reference = t2v(latents, t, text, return_dict=False)[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, reference, rtol=1e-5, atol=1e-5)


def test_diffusers_layout_folder_loads(tmp_path):
    spec = ModelSpec(transformer=dict(TINY.transformer), vae=TINY.vae, context=TINY_CLIP, text_len=4)
    model = build_model(spec, seed=3)
    path = save_model(model, tmp_path / "wan")
    (path / "model_index.json").write_text(json.dumps({"_class_name": "WanImageToVideoPipeline"}))
    loaded = load_model(path)
    assert _same_weights(model, loaded)


def test_empty_prompt_context_is_the_eos_encoding_zero_padded():
    from transformers import UMT5Config, UMT5EncoderModel

    from cleanplate.engines.diffusion.text import empty_prompt_context

    torch.manual_seed(0)
    encoder = UMT5EncoderModel(UMT5Config(vocab_size=32, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2)).eval()
    context = empty_prompt_context(encoder, text_len=6)
    assert context.shape == (1, 6, 8)
    expected = encoder(input_ids=torch.tensor([[encoder.config.eos_token_id]])).last_hidden_state[0, 0]
    torch.testing.assert_close(context[0, 0], expected.detach())
    assert context[0, 1:].abs().sum() == 0
