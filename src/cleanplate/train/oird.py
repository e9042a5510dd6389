"""Object-induced relation distillation, OIRD (UnderEraser, eqs. 3-4).

The DiT should learn which parts of the scene the object affects. A frozen vision teacher already
relates an object's tokens to the tokens of its shadow or reflection; OIRD makes the DiT's hidden
state at one block relate them the same way.

- Eq. 3: per latent frame, the cosine relation matrix ``R[i, j] = cos(f_i, f_j)`` of the frame's
  tokens, for the teacher's features (after a trainable MLP) and for the DiT's hidden state.
- Eq. 4: the L1 difference of the two matrices over the (object token, side-effect token) pairs
  only, normalised per frame: ``L_f = sum_{i in obj, j in side} |R^s_ij - R^t_ij| / (|obj| |side|)``;
  frames without such pairs contribute nothing; ``L_oird`` is the mean of ``L_f`` over the frames
  that have pairs. Side-effect masks come from eqs. 1-2 (:mod:`cleanplate.train.sample`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def relation_matrix(tokens: torch.Tensor) -> torch.Tensor:
    """Eq. 3: cosine similarities of tokens. ``(..., N, C)`` -> ``(..., N, N)``."""
    unit = F.normalize(tokens.float(), dim=-1)
    return unit @ unit.transpose(-1, -2)


def relation_loss(student: torch.Tensor, teacher: torch.Tensor, obj: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
    """Eq. 4 on token features; only the (object, side-effect) blocks of eq. 3 are ever built.

    ``student``: ``(B, F, N, C_s)`` DiT hidden states; ``teacher``: ``(B, F, N, C_t)`` teacher
    features after the MLP; ``obj``, ``side``: ``(B, F, N)`` bool token masks (disjoint).
    Returns a scalar; 0 when no frame has both object and side-effect tokens.
    """
    s = F.normalize(student.float(), dim=-1)
    t = F.normalize(teacher.float(), dim=-1)
    has_pairs = obj.any(-1) & side.any(-1)  # (B, F)
    per_frame = []
    for b, f in has_pairs.nonzero().tolist():
        o, e = obj[b, f], side[b, f]
        r_student = s[b, f][o] @ s[b, f][e].T
        r_teacher = t[b, f][o] @ t[b, f][e].T
        per_frame.append((r_student - r_teacher).abs().mean())
    if not per_frame:
        return student.new_zeros((), dtype=torch.float32)
    return torch.stack(per_frame).mean()


class TeacherHead(nn.Module):
    """The trainable MLP on the frozen teacher's features (UnderEraser, sec. 3.3)."""

    def __init__(self, in_dim: int, dim: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)
