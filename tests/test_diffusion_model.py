"""The UnderEraser model on tiny random weights: conditioning, framewise context, transformer, pipeline."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from diffusers.models.transformers.transformer_wan import WanAttention, WanAttnProcessor  # noqa: E402

from cleanplate import quadmask  # noqa: E402
from cleanplate.engines.diffusion import conditioning as cond  # noqa: E402
from cleanplate.engines.diffusion.context import FramewiseCrossAttnProcessor  # noqa: E402
from cleanplate.engines.diffusion.model import TINY, ModelSpec, build_model  # noqa: E402
from cleanplate.engines.diffusion.pipeline import UnderEraserPipeline  # noqa: E402
from conftest import make_square_clip  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and contended threads make them slow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pipe():
    return UnderEraserPipeline(build_model("tiny", seed=0))


@pytest.fixture(scope="module")
def clip():
    video, masks, background = make_square_clip(frames=9, size=32)
    return video, quadmask.from_binary(masks), background


# -- conditioning ---------------------------------------------------------------------------------

@pytest.mark.parametrize("frames,padded", [(1, 1), (2, 5), (5, 5), (6, 9), (9, 9), (10, 13), (81, 81)])
def test_vae_length_is_one_plus_four_k(frames, padded):
    assert cond.vae_length(frames) == padded
    assert cond.latent_length(frames) == (padded - 1) // 4 + 1


def test_fold_mask_groups_frames_by_four_after_repeating_the_first():
    t = torch.arange(1, 10, dtype=torch.float32) / 10  # frame i holds (i + 1) / 10
    mask = t.view(1, 1, 9, 1, 1).expand(1, 1, 9, 16, 16)
    folded = cond.fold_mask(mask, (2, 2))
    assert folded.shape == (1, 4, 3, 2, 2)
    assert torch.allclose(folded[0, :, 0, 0, 0], torch.full((4,), 0.1))  # frame 0, four times
    assert torch.allclose(folded[0, :, 1, 0, 0], torch.tensor([0.2, 0.3, 0.4, 0.5]))
    assert torch.allclose(folded[0, :, 2, 0, 0], torch.tensor([0.6, 0.7, 0.8, 0.9]))


def test_fold_mask_averages_area_to_the_latent_grid():
    mask = torch.zeros(1, 1, 1, 16, 16)
    mask[..., :8, :4] = 1  # half of the top-left 8x8 cell
    folded = cond.fold_mask(mask, (2, 2))
    assert folded[0, 0, 0].tolist() == [[0.5, 0.0], [0.0, 0.0]]


def test_condition_channels_follow_fun_inp_then_affected():
    masks = np.full((5, 16, 16), quadmask.KEEP, np.uint8)
    masks[:, :8, :8] = quadmask.REMOVE
    masks[:, 8:, 8:] = quadmask.AFFECTED
    known, affected = cond.mask_tensors(masks)
    latent = torch.randn(1, 16, 2, 2, 2)
    c = cond.build_condition(latent, known, affected)
    assert c.shape == (1, 24, 2, 2, 2)
    assert c[0, :4, :, 0, 0].eq(0).all() and c[0, :4, :, 0, 1].eq(1).all()  # known: 0 in the hole
    assert c[0, :4, :, 1, 1].eq(0).all()  # affected is part of the hole
    assert torch.equal(c[:, 4:20], latent)
    assert c[0, 20:, :, 1, 1].eq(1).all() and c[0, 20:, :, 0, 0].eq(0).all()  # affected only


# -- framewise context cross-attention -------------------------------------------------------------

def _cross_attention(seed=0):
    torch.manual_seed(seed)
    return WanAttention(dim=16, heads=2, dim_head=8, added_kv_proj_dim=16, cross_attention_dim_head=8).eval()


def test_framewise_with_the_same_context_every_frame_equals_standard_cross_attention():
    attn = _cross_attention()
    frames, tokens_per_frame, hw = 3, 5, 6
    hidden = torch.randn(2, frames * hw, 16)
    context = torch.randn(2, tokens_per_frame, 16)
    text = torch.randn(2, 512, 16)  # diffusers' Wan processor assumes 512 text tokens
    standard = WanAttnProcessor()(attn, hidden, torch.cat([context, text], 1))
    repeated = torch.cat([context.repeat(1, frames, 1), text], 1)
    framewise = FramewiseCrossAttnProcessor(512, tokens_per_frame)(attn, hidden, repeated)
    torch.testing.assert_close(framewise, standard, rtol=1e-5, atol=1e-6)


def test_changing_one_frames_context_changes_only_that_frames_tokens():
    attn = _cross_attention()
    frames, tokens_per_frame, hw = 4, 3, 8
    processor = FramewiseCrossAttnProcessor(4, tokens_per_frame)
    hidden = torch.randn(1, frames * hw, 16)
    context = torch.randn(1, frames, tokens_per_frame, 16)
    text = torch.randn(1, 4, 16)
    before = processor(attn, hidden, torch.cat([context.flatten(1, 2), text], 1))
    context[:, 2] += torch.randn(1, tokens_per_frame, 16)
    after = processor(attn, hidden, torch.cat([context.flatten(1, 2), text], 1))
    changed = (after - before).abs().amax(dim=-1)[0].view(frames, hw)
    assert changed[2].min() > 1e-4
    assert torch.equal(changed[[0, 1, 3]], torch.zeros(3, hw))


def test_transformer_with_one_context_frame_equals_diffusers_wan_i2v_forward():
    spec = ModelSpec(transformer=dict(TINY.transformer), vae=TINY.vae, context=TINY.context, text_len=512)
    model = build_model(spec).transformer.eval()
    reference = copy.deepcopy(model.wan)
    for block in reference.blocks:
        block.attn2.set_processor(WanAttnProcessor())
    latents, condition = torch.randn(1, 16, 3, 4, 4), torch.randn(1, 24, 3, 4, 4)
    context, text, t = torch.randn(1, 1, 4, 16), torch.randn(1, 512, 16), torch.tensor([700.0])
    with torch.no_grad():
        ours = model(latents, t, condition, context, text)
        theirs = reference(torch.cat([latents, condition], 1), t, text, context[:, 0], return_dict=False)[0]
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


# -- transformer -----------------------------------------------------------------------------------

def test_transformer_shapes_and_hidden_state_of_a_chosen_block():
    model = build_model("tiny").transformer.eval()
    latents, condition = torch.randn(2, 16, 3, 4, 4), torch.randn(2, 24, 3, 4, 4)
    context, text, t = torch.randn(2, 3, 4, 16), torch.zeros(2, 4, 16), torch.tensor([900.0, 100.0])
    seen = {}
    model.wan.blocks[0].register_forward_hook(lambda m, i, o: seen.setdefault("block0", o))
    with torch.no_grad():
        out, hidden = model(latents, t, condition, context, text, return_hidden_at=0)
        plain = model(latents, t, condition, context, text)
    assert out.shape == (2, 16, 3, 4, 4)
    assert hidden.shape == (2, 3 * 2 * 2, 16)
    assert torch.equal(hidden, seen["block0"])
    assert torch.equal(out, plain)
    with pytest.raises(ValueError, match="has 2 blocks"):
        model(latents, t, condition, context, text, return_hidden_at=5)


def test_transformer_trains_with_gradient_checkpointing():
    model = build_model("tiny").transformer
    model.gradient_checkpointing = True
    latents, condition = torch.randn(1, 16, 2, 4, 4), torch.randn(1, 24, 2, 4, 4)
    out, hidden = model(latents, torch.tensor([500.0]), condition, torch.randn(1, 2, 4, 16), torch.zeros(1, 4, 16),
                        return_hidden_at=1)
    (out.square().mean() + hidden.square().mean()).backward()
    grad = model.wan.blocks[0].attn2.add_k_proj.weight.grad
    assert grad is not None and grad.abs().sum() > 0  # the framewise context branch learns


# -- pipeline ----------------------------------------------------------------------------------------

def test_pipeline_is_deterministic_under_a_seed(pipe, clip):
    video, masks, _ = clip
    a = pipe(video, masks, steps=2, seed=3)
    b = pipe(video, masks, steps=2, seed=3)
    c = pipe(video, masks, steps=2, seed=4)
    assert a.shape == video.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("frames", [1, 3, 6])
@pytest.mark.parametrize("sampler", ["euler", "unipc"])
def test_pipeline_takes_any_frame_count_and_cuts_back(pipe, clip, frames, sampler):
    video, masks, _ = clip
    out = pipe(video[:frames], masks[:frames], steps=2, sampler=sampler)
    assert out.shape == (frames, 32, 32, 3)


def test_prior_at_strength_zero_is_returned_unchanged(pipe, clip):
    video, masks, background = clip
    out = pipe(video, masks, prior=background, strength=0.0, steps=4)
    assert np.array_equal(out, background)


def test_prior_changes_the_result_and_second_pass_runs(pipe, clip):
    video, masks, background = clip
    plain = pipe(video, masks, steps=2)
    primed = pipe(video, masks, prior=background, strength=0.5, steps=2)
    twice = pipe(video, masks, prior=background, strength=0.5, steps=2, second_pass=True)
    assert primed.shape == twice.shape == video.shape
    assert not np.array_equal(plain, primed)
    assert not np.array_equal(primed, twice)


def test_pipeline_rejects_sizes_the_model_cannot_patch(pipe):
    frames = np.zeros((5, 24, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="multiple of 16"):
        pipe(frames, np.zeros((5, 24, 32), np.uint8))


def test_bfloat16_transformer_keeps_norms_in_float32_and_agrees_with_float32(clip):
    video, masks, _ = clip
    half = UnderEraserPipeline(build_model("tiny", seed=0), "cpu", torch.bfloat16)
    wan = half.model.transformer.wan
    assert wan.blocks[0].attn1.to_q.weight.dtype == torch.bfloat16
    assert wan.scale_shift_table.dtype == wan.blocks[0].norm2.weight.dtype == torch.float32
    assert half.model.vae.decoder.conv_in.weight.dtype == torch.float32
    full = UnderEraserPipeline(build_model("tiny", seed=0))
    a, b = half(video, masks, steps=2), full(video, masks, steps=2)
    assert np.abs(a.astype(int) - b).mean() < 2.0
