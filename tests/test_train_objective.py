"""OIRD (eqs. 3-4), the token grid, the teachers and the flow-matching wrapper, on hand-built cases."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cleanplate.errors import InputError  # noqa: E402
from cleanplate.train.config import OIRDConfig  # noqa: E402
from cleanplate.train.grid import frame_groups, mask_to_tokens  # noqa: E402
from cleanplate.train.oird import relation_loss, relation_matrix  # noqa: E402
from cleanplate.train.teacher import ColourGradientTeacher, DinoTeacher, load_teacher, teacher_tokens  # noqa: E402
from cleanplate.train.toy import build_toy  # noqa: E402
from cleanplate.train.wrapper import FlowMatchingWrapper  # noqa: E402

R2 = 1 / math.sqrt(2)


def tokens(*vectors):
    return torch.tensor(vectors, dtype=torch.float32)


def hand_case():
    """Two frames of four tokens. Frame 0: object {0}, side effect {1, 2}; frame 1: object {0},
    side effect {1}; token 3 is background in both."""
    student = torch.stack([tokens([1, 0], [0, 1], [R2, R2], [5, -3]),
                           tokens([1, 0], [1, 0], [0, 1], [0, 1])])[None]
    teacher = torch.stack([tokens([1, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1]),
                           tokens([1, 0, 0], [0, 1, 0], [1, 0, 0], [1, 0, 0])])[None]
    obj = torch.tensor([[[True, False, False, False], [True, False, False, False]]])
    side = torch.tensor([[[False, True, True, False], [False, True, False, False]]])
    return student, teacher, obj, side


def test_relation_matrix_is_the_cosine_of_every_pair():
    r = relation_matrix(tokens([2, 0], [0, 3], [1, 1]))
    expected = torch.tensor([[1, 0, R2], [0, 1, R2], [R2, R2, 1]])
    assert torch.allclose(r, expected, atol=1e-6)


def test_relation_loss_matches_the_hand_computed_value():
    student, teacher, obj, side = hand_case()
    # Frame 0: pairs (0,1): |0 - 1| = 1; (0,2): |1/sqrt2 - (-1)| = 1 + 1/sqrt2; mean over 2 pairs.
    # Frame 1: pair (0,1): |1 - 0| = 1. Loss: mean over the two frames.
    frame0 = (1 + 1 + R2) / 2
    frame1 = 1.0
    assert relation_loss(student, teacher, obj, side).item() == pytest.approx((frame0 + frame1) / 2, abs=1e-6)


def test_relation_loss_averages_only_over_frames_that_have_pairs():
    student, teacher, obj, side = hand_case()
    side[0, 1] = False  # frame 1 loses its side effect: only frame 0 counts
    assert relation_loss(student, teacher, obj, side).item() == pytest.approx((2 + R2) / 2, abs=1e-6)
    side[0, 0] = False
    assert relation_loss(student, teacher, obj, side).item() == 0.0


def test_relation_loss_ignores_pairs_outside_object_and_side_effect():
    student, teacher, obj, side = hand_case()
    base = relation_loss(student, teacher, obj, side).item()
    changed_student, changed_teacher = student.clone(), teacher.clone()
    changed_student[0, :, 3] = torch.tensor([-7.0, 2.0])  # background token: its pairs are not counted
    changed_teacher[0, :, 3] = torch.tensor([0.0, -1.0, 0.0])
    changed_student[0, 0, 2] = changed_student[0, 0, 2] * 4  # same direction: same cosines
    assert relation_loss(changed_student, changed_teacher, obj, side).item() == pytest.approx(base, abs=1e-6)
    changed_student[0, 0, 1] = torch.tensor([1.0, 0.0])  # a side-effect token: its pair with the object changes
    assert relation_loss(changed_student, changed_teacher, obj, side).item() != pytest.approx(base, abs=1e-3)


def test_relation_loss_is_zero_when_student_and_teacher_relations_agree():
    g = torch.Generator().manual_seed(0)
    student = torch.randn(2, 3, 12, 8, generator=g)
    rotation, _ = torch.linalg.qr(torch.randn(16, 16, generator=g))
    teacher = 3.0 * student @ rotation[:8]  # other width, rotated and scaled: same cosines
    obj = torch.zeros(2, 3, 12, dtype=torch.bool)
    side = torch.zeros_like(obj)
    obj[..., :3] = True
    side[..., 5:9] = True
    assert relation_loss(student, teacher, obj, side).item() == pytest.approx(0.0, abs=1e-6)
    assert relation_loss(student, torch.randn(2, 3, 12, 8, generator=g), obj, side).item() > 0.1


def test_frame_groups_follow_a_causal_video_vae():
    assert frame_groups(9, 3) == [(0, 1), (1, 5), (5, 9)]
    assert frame_groups(81, 21)[:3] == [(0, 1), (1, 5), (5, 9)]
    assert frame_groups(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert frame_groups(5, 5) == [(i, i + 1) for i in range(5)]
    with pytest.raises(ValueError):
        frame_groups(10, 3)


def test_mask_to_tokens_marks_every_token_a_masked_pixel_touches():
    mask = torch.zeros(1, 5, 8, 8, dtype=torch.bool)
    mask[0, 0, 0, 0] = True  # latent frame 0, token (0, 0)
    mask[0, 3, 5, 6] = True  # frame 3 is in latent frame 1, token (2, 3)
    tokens_ = mask_to_tokens(mask, (2, 4, 4))
    assert tokens_.shape == (1, 2, 16)
    assert tokens_[0, 0].nonzero().flatten().tolist() == [0]
    assert tokens_[0, 1].nonzero().flatten().tolist() == [2 * 4 + 3]


def test_colour_gradient_teacher_is_fixed_and_standardised():
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 3, 24, 40, generator=g)
    teacher = ColourGradientTeacher()
    a, b = teacher(frames, (3, 5)), teacher(frames, (3, 5))
    assert a.shape == (2, 15, teacher.dim)
    assert torch.equal(a, b)
    assert torch.allclose(a.mean(1), torch.zeros(2, teacher.dim), atol=1e-5)
    # A flat red patch and a flat green patch are told apart; two flat red patches are alike.
    image = torch.zeros(1, 3, 16, 48)
    image[:, 0, :, :32] = 1.0
    image[:, 1, :, 32:] = 1.0
    r = relation_matrix(teacher(image, (2, 6))[0])
    assert r[0, 1] > 0.5 and r[0, 5] < 0.0


@pytest.fixture
def tiny_dinov2(tmp_path):
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    config = Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                          patch_size=14, image_size=28)
    Dinov2Model(config).save_pretrained(tmp_path / "dinov2")
    return tmp_path / "dinov2"


def test_dinov2_teacher_loads_from_a_local_folder_and_gives_patch_tokens(tiny_dinov2):
    teacher = load_teacher(tiny_dinov2)
    assert isinstance(teacher, DinoTeacher) and teacher.dim == 32 and teacher.name.startswith("dinov2")
    frames = torch.rand(3, 3, 20, 30, generator=torch.Generator().manual_seed(1))
    out = teacher(frames, (2, 3))
    assert out.shape == (3, 6, 32)
    # The patch tokens are the model's own output at a 28x42 input (CLS token dropped).
    import torch.nn.functional as F
    x = F.interpolate(frames, (28, 42), mode="bilinear", align_corners=False, antialias=True)
    x = (x - teacher.mean) / teacher.std
    assert torch.allclose(out, teacher.model(pixel_values=x).last_hidden_state[:, 1:], atol=1e-6)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_a_missing_teacher_folder_says_what_to_give(tmp_path):
    with pytest.raises(InputError, match="DINOv2"):
        load_teacher(tmp_path / "nowhere")


def test_teacher_tokens_average_the_frames_behind_each_latent_frame():
    teacher = ColourGradientTeacher()
    video = torch.rand(1, 3, 5, 16, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    out = teacher_tokens(teacher, video, (2, 2, 2))
    frames = (video[0].transpose(0, 1) + 1) / 2
    per_frame = teacher(frames, (2, 2))
    assert torch.allclose(out[0, 0], per_frame[0], atol=1e-6)
    assert torch.allclose(out[0, 1], per_frame[1:5].mean(0), atol=1e-6)


def toy_batch(seed=0):
    from cleanplate.train.data import collate
    from cleanplate.train.sample import prepare_sample
    from cleanplate.train.toy import ToyPairs
    from cleanplate.train.wrapper import to_torch

    rng = np.random.default_rng(seed)
    sample = prepare_sample(ToyPairs().read(seed), rng, frames=9, height=32, width=32, keyframe_probability=0)
    return to_torch(collate([sample, sample]), "cpu")


def test_wrapper_flow_loss_is_the_rectified_flow_velocity_error():
    torch.manual_seed(0)
    denoiser, codec = build_toy(dim=16)
    wrapper = FlowMatchingWrapper(denoiser, codec, OIRDConfig(weight=0.0))
    batch = toy_batch()
    torch.manual_seed(5)
    loss, parts = wrapper.loss(batch)
    # Recompute eq. 5 by hand with the same draws.
    torch.manual_seed(5)
    x0 = codec.encode(batch["gt"])
    noise = torch.randn_like(x0)
    t = torch.rand(2)
    x_t = (1 - t.view(-1, 1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1, 1) * noise
    expected = ((denoiser(x_t, t, codec.condition(batch)) - (noise - x0)) ** 2).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(parts) == {"loss", "flow"}


def test_wrapper_adds_weighted_oird_read_at_the_chosen_block():
    torch.manual_seed(0)
    denoiser, codec = build_toy(dim=16, depth=4)
    wrapper = FlowMatchingWrapper(denoiser, codec, OIRDConfig(weight=0.5, head_dim=8), ColourGradientTeacher())
    assert wrapper.block == 2  # half depth by default
    loss, parts = wrapper.loss(toy_batch())
    assert parts["oird"].item() > 0
    assert loss.item() == pytest.approx(parts["flow"].item() + 0.5 * parts["oird"].item(), rel=1e-6)
    loss.backward()
    assert wrapper.head.net[0].weight.grad.abs().sum() > 0  # the MLP on the teacher learns
    assert denoiser.blocks[1].linear1.weight.grad.abs().sum() > 0
    with pytest.raises(InputError, match="outside the denoiser's 2 blocks"):
        FlowMatchingWrapper(*build_toy(depth=2), OIRDConfig(block=2), ColourGradientTeacher())


class TinyWanDenoiser(torch.nn.Module):
    """A diffusers WanTransformer3DModel behind the training contract: masked-input and mask
    channels concatenated to the noisy latents, a zero text context."""

    def __init__(self, latent_channels=3, cond_channels=5):
        super().__init__()
        from diffusers import WanTransformer3DModel

        self.model = WanTransformer3DModel(
            patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8,
            in_channels=latent_channels + cond_channels, out_channels=latent_channels, text_dim=16,
            freq_dim=16, ffn_dim=32, num_layers=4, rope_max_seq_len=32)
        self.blocks = self.model.blocks

    def token_grid(self, shape):
        return shape[2], shape[3] // 2, shape[4] // 2

    def forward(self, x_t, t, cond):
        context = x_t.new_zeros(x_t.shape[0], 1, 16)
        return self.model(torch.cat([x_t, cond], 1), timestep=t * 1000, encoder_hidden_states=context,
                          return_dict=False)[0]


def test_a_diffusers_wan_transformer_fits_the_contract_and_oird_reads_its_block():
    pytest.importorskip("diffusers")
    from cleanplate.train.toy import ToyCodec

    torch.manual_seed(0)
    denoiser = TinyWanDenoiser()
    seen = {}

    def record(module, args, output):
        seen["shape"] = tuple(output.shape)

    denoiser.blocks[2].register_forward_hook(record)
    wrapper = FlowMatchingWrapper(denoiser, ToyCodec(), OIRDConfig(weight=0.1, head_dim=8), ColourGradientTeacher())
    loss, parts = wrapper.loss(toy_batch())
    assert wrapper.block == 2
    assert seen["shape"] == (2, 3 * 4 * 4, 16)  # (B, F * h/2 * w/2, heads * head_dim), as token_grid says
    assert parts["oird"].item() > 0 and torch.isfinite(loss)
    loss.backward()
    assert denoiser.blocks[0].ffn.net[0].proj.weight.grad.abs().sum() > 0
