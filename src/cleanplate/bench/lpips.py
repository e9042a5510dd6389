"""LPIPS (Zhang, Isola, Efros, Shechtman & Wang, CVPR 2018, eq. 1) on an AlexNet backbone.

``d(x, y) = sum_l mean_hw || w_l * (f_l(x) / |f_l(x)| - f_l(y) / |f_l(y)|) ||^2`` over the five ReLU
outputs ``f_l`` of AlexNet's feature layers, with learned non-negative channel weights ``w_l`` (1x1
convolutions without bias). The network is defined here; **weights are never downloaded**: pass a
local path to :func:`load_lpips`. Without one, LPIPS is reported as unavailable (``None``/"n/a").

Accepted weights: a ``.pth``/``.pt``/``.safetensors`` file, or a folder of them, that together hold

- the backbone in torchvision's AlexNet naming: ``features.{0,3,6,8,10}.{weight,bias}``;
- the linear heads in the ``lpips`` package's naming: ``lin{0..4}.model.1.weight``.

For example a folder with torchvision's ``alexnet-owt-7be5be79.pth`` and the ``lpips`` package's
``weights/v0.1/alex.pth``. torch is imported only when a model is loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError

CHANNELS = (64, 192, 384, 256, 256)
_CONVS = ((3, 64, 11, 4, 2), (64, 192, 5, 1, 2), (192, 384, 3, 1, 1), (384, 256, 3, 1, 1), (256, 256, 3, 1, 1))
_FEATURE_INDEX = (0, 3, 6, 8, 10)  # positions of the convolutions in torchvision's AlexNet.features
_SHIFT = (-0.030, -0.088, -0.188)  # LPIPS input scaling layer
_SCALE = (0.458, 0.448, 0.450)


def build_network():
    """The LPIPS-AlexNet module with uninitialised weights (imports torch)."""
    import torch
    from torch import nn

    class LPIPSNet(nn.Module):
        def __init__(self):
            super().__init__()
            layers: list[nn.Module] = []
            for i, (cin, cout, k, s, p) in enumerate(_CONVS):
                if i in (1, 2):
                    layers.append(nn.MaxPool2d(3, 2))
                layers += [nn.Conv2d(cin, cout, k, s, p), nn.ReLU(inplace=False)]
            self.features = nn.Sequential(*layers)
            for i, c in enumerate(CHANNELS):
                head = nn.Sequential(nn.Dropout(0.0), nn.Conv2d(c, 1, 1, bias=False))
                self.add_module(f"lin{i}", nn.Module())
                getattr(self, f"lin{i}").model = head
            self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1))
            self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1))

        def taps(self, x):
            x = (x - self.shift) / self.scale
            out = []
            for layer in self.features:
                x = layer(x)
                if isinstance(layer, nn.ReLU):
                    out.append(x)
            return out

        def forward(self, x, y):
            """Distance per image for ``x``, ``y`` ``(N, 3, H, W)`` in ``[-1, 1]``."""
            total = 0
            for i, (fx, fy) in enumerate(zip(self.taps(x), self.taps(y))):
                nx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                ny = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
                total = total + getattr(self, f"lin{i}").model((nx - ny) ** 2).mean((2, 3))
            return total.view(-1)

    return LPIPSNet()


def _state_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".pth", ".pt", ".safetensors"))
        if not files:
            raise InputError(path, "holds no .pth/.pt/.safetensors weights", "see docs/bench.md, LPIPS")
        return files
    return [path]


def _load_state(path: Path) -> dict:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise InputError(path, f"cannot be read as torch weights ({err.__class__.__name__})") from None
    return state.get("state_dict", state) if isinstance(state, dict) else {}


class LPIPS:
    """A loaded LPIPS model: ``model(a, b)`` for images, ``model.clip(a, b)`` for clips (uint8 RGB)."""

    def __init__(self, network, device: str = "cpu"):
        self.net = network.eval().to(device)
        self.device = device

    def _tensor(self, frames: np.ndarray):
        import torch

        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).permute(0, 3, 1, 2).float()
        return x / 127.5 - 1.0

    def __call__(self, a: np.ndarray, b: np.ndarray) -> float:
        """LPIPS distance of two ``(H, W, 3)`` uint8 images."""
        return self.distances(a[None], b[None])[0]

    def distances(self, a: np.ndarray, b: np.ndarray, batch: int = 8) -> list[float]:
        import torch

        out: list[float] = []
        with torch.no_grad():
            for i in range(0, len(a), batch):
                out += self.net(self._tensor(a[i:i + batch]), self._tensor(b[i:i + batch])).tolist()
        return out

    def clip(self, a: np.ndarray, b: np.ndarray) -> float:
        """Mean LPIPS over the frames of two ``(T, H, W, 3)`` clips."""
        return float(np.mean(self.distances(a, b)))


def load_lpips(path: str | os.PathLike | None, device: str = "cpu") -> LPIPS | None:
    """Load LPIPS weights from ``path`` (see the module docstring); ``None`` when ``path`` is None."""
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist", "give the folder or file holding LPIPS weights")
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError:
        raise InputError("--lpips", "needs torch", "pip install 'cleanplate[diffusion]'") from None
    state: dict = {}
    for file in _state_files(path):
        state.update(_load_state(file))
    net = build_network()
    wanted = {}
    for idx in _FEATURE_INDEX:  # our features Sequential has torchvision's layout, so names match
        for kind in ("weight", "bias"):
            wanted[f"features.{idx}.{kind}"] = state.get(f"features.{idx}.{kind}")
    for i in range(len(CHANNELS)):
        wanted[f"lin{i}.model.1.weight"] = state.get(f"lin{i}.model.1.weight")
    missing = [k for k, v in wanted.items() if v is None]
    if missing:
        raise InputError(path, f"lacks LPIPS weights {missing[0]} (and {len(missing) - 1} more)",
                         "give torchvision AlexNet weights plus the lpips package's alex.pth; see docs/bench.md")
    wanted["shift"], wanted["scale"] = net.shift, net.scale
    net.load_state_dict(wanted)
    return LPIPS(net, device)
