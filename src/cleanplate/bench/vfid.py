"""VFID: the Fréchet distance between I3D features of output and ground-truth videos.

As used for video inpainting by Wang et al. (2018, "Video-to-Video Synthesis") and since by
E2FGVI/ProPainter: each video is embedded by an I3D network (Carreira & Zisserman, CVPR 2017,
Inception-v1 inflated to 3D), and the Fréchet distance (Heusel et al. 2017, eq. 6)
``|mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))`` is taken between the feature
distributions of the two sets of videos. It is a property of a *set* of clips (one number per
engine), and it needs many clips to be stable.

The I3D network is defined here with the parameter names of the widely used ``pytorch-i3d``
port (``rgb_imagenet.pt``); **weights are never downloaded**: pass a local path to
:func:`load_i3d`. Without one, VFID is reported as unavailable. Features are the 1024 channels of
``Mixed_5c`` averaged over time and space (adaptive pooling, so any clip size works).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError

# (name, input channels, [b0, b1a, b1b, b2a, b2b, b3b]) of the Inception blocks, in order.
_INCEPTION = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)), ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)), ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)), ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)), ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)
FEATURES = 1024


def build_i3d():
    """The I3D feature extractor with uninitialised weights (imports torch)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def same_pad(x, kernel, stride):
        # TensorFlow "SAME" padding, as in the original I3D.
        pads = []
        for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
            total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads)

    class Unit3D(nn.Module):
        def __init__(self, cin, cout, kernel=(1, 1, 1), stride=(1, 1, 1)):
            super().__init__()
            self.kernel, self.stride = kernel, stride
            self.conv3d = nn.Conv3d(cin, cout, kernel, stride, bias=False)
            self.bn = nn.BatchNorm3d(cout, eps=0.001, momentum=0.01)

        def forward(self, x):
            return F.relu(self.bn(self.conv3d(same_pad(x, self.kernel, self.stride))))

    class Pool(nn.Module):
        def __init__(self, kernel, stride):
            super().__init__()
            self.kernel, self.stride = kernel, stride

        def forward(self, x):
            return F.max_pool3d(same_pad(x, self.kernel, self.stride), self.kernel, self.stride)

    class Inception(nn.Module):
        def __init__(self, cin, c):
            super().__init__()
            self.b0 = Unit3D(cin, c[0])
            self.b1a, self.b1b = Unit3D(cin, c[1]), Unit3D(c[1], c[2], (3, 3, 3))
            self.b2a, self.b2b = Unit3D(cin, c[3]), Unit3D(c[3], c[4], (3, 3, 3))
            self.b3a, self.b3b = Pool((3, 3, 3), (1, 1, 1)), Unit3D(cin, c[5])

        def forward(self, x):
            return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)

    class I3D(nn.Module):
        def __init__(self):
            super().__init__()
            self.order = ["Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3"]
            self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
            self.MaxPool3d_2a_3x3 = Pool((1, 3, 3), (1, 2, 2))
            self.Conv3d_2b_1x1 = Unit3D(64, 64)
            self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
            self.MaxPool3d_3a_3x3 = Pool((1, 3, 3), (1, 2, 2))
            for name, a, b in _INCEPTION:
                setattr(self, name, Pool(a, b) if name.startswith("MaxPool") else Inception(a, b))
                self.order.append(name)

        def forward(self, x):
            """``(N, 3, T, H, W)`` in ``[-1, 1]`` -> ``(N, 1024)`` features."""
            for name in self.order:
                x = getattr(self, name)(x)
            return x.mean((2, 3, 4))

    return I3D()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows ``a`` ``(N, D)`` and ``b`` ``(M, D)``."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least two feature vectors a side")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():  # fewer clips than feature dimensions: singular, expected
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():  # regularise (as in the FID reference code)
            eps = np.eye(len(s1)) * 1e-6
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    return float(np.square(mu1 - mu2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


class I3DFeatures:
    """A loaded I3D: ``features(clip)`` -> ``(1024,)`` for a ``(T, H, W, 3)`` uint8 clip."""

    def __init__(self, network, device: str = "cpu"):
        self.net = network.eval().to(device)
        self.device = device

    def __call__(self, clip: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(clip)).to(self.device).float() / 127.5 - 1.0
        with torch.no_grad():
            return self.net(x.permute(3, 0, 1, 2)[None]).cpu().numpy()[0]


def vfid(features_out: list[np.ndarray], features_gt: list[np.ndarray]) -> float | None:
    """VFID of a set of clips from their features; ``None`` with fewer than two clips."""
    if len(features_out) < 2:
        return None
    return frechet_distance(np.stack(features_out), np.stack(features_gt))


def load_i3d(path: str | os.PathLike | None, device: str = "cpu") -> I3DFeatures | None:
    """Load I3D weights (``pytorch-i3d`` naming, e.g. ``rgb_imagenet.pt``); ``None`` when no path."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "is not a file", "give the I3D weights file (e.g. rgb_imagenet.pt)")
    try:
        import torch
    except ModuleNotFoundError:
        raise InputError("--i3d", "needs torch", "pip install 'cleanplate[diffusion]'") from None
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        raise InputError(path, f"cannot be read as torch weights ({err.__class__.__name__})") from None
    net = build_i3d()
    ours = net.state_dict()
    missing = [k for k in ours if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise InputError(path, f"lacks I3D weights {missing[0]} (and {len(missing) - 1} more)",
                         "give pytorch-i3d's rgb_imagenet.pt; see docs/bench.md")
    # Extra keys (the logits head) are not needed; old files lack BatchNorm's num_batches_tracked.
    net.load_state_dict({k: state.get(k, v) for k, v in ours.items()})
    return I3DFeatures(net, device)
