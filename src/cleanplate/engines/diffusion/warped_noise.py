"""Noise warped along optical flow, kept Gaussian (the second pass of VOID, Netflix 2025).

A second denoising pass starts from noise that moves with the scene: the noise of latent frame
``i`` is the noise of frame ``i - 1`` carried along the flow of the first pass's result. Temporal
consistency then comes from the start point rather than from the network alone.

Warping must not change the noise's distribution: bilinear resampling averages neighbours (variance
drops, neighbours become correlated), and nearest-neighbour resampling copies one value to several
pixels where the flow converges (neighbours become equal). :func:`warp_noise` is a discrete,
distribution-preserving warp in the spirit of Chang et al. 2024 ("How I Warped Your Noise"): every
target pixel takes the noise of its nearest source pixel, but each source value is used at most
once; pixels that lose that contest, or whose source lies outside the frame (disocclusions), get
fresh noise. The result is again i.i.d. N(0, 1), exactly, whatever the flow.

Flow is OpenCV's DIS (Kroeger et al. 2016) between consecutive frames of the first pass's result,
composed over the 4 frames a latent frame spans and scaled to the latent grid.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .context import context_frame_indices


def warp_noise(noise: torch.Tensor, flow: np.ndarray, generator: torch.Generator) -> torch.Tensor:
    """Carry ``noise`` ``(C, h, w)`` to the next frame along the backward ``flow`` ``(h, w, 2)``.

    ``flow[y, x] = (dx, dy)`` points from pixel ``(x, y)`` of the next frame to where it was in this
    one. Returns i.i.d. N(0, 1) noise ``(C, h, w)``: the source value where the source is inside the
    frame and not already taken, fresh noise elsewhere.
    """
    c, h, w = noise.shape
    if flow.shape != (h, w, 2):
        raise ValueError(f"flow is {flow.shape}, noise is {(c, h, w)}")
    ys, xs = np.mgrid[0:h, 0:w]
    sx = np.rint(xs + flow[..., 0]).astype(np.int64)
    sy = np.rint(ys + flow[..., 1]).astype(np.int64)
    valid = ((sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)).ravel()
    # Contest for each source pixel: the target closest to it (sub-pixel) wins, ties by raster order.
    residual = np.hypot(xs + flow[..., 0] - sx, ys + flow[..., 1] - sy).ravel()
    targets = np.flatnonzero(valid)
    sources = (sy * w + sx).ravel()[targets]
    order = np.lexsort((targets, residual[targets], sources))
    sources, targets = sources[order], targets[order]
    first = np.ones(len(sources), bool)
    first[1:] = sources[1:] != sources[:-1]
    out = torch.randn(c, h * w, generator=generator, dtype=noise.dtype)
    flat = noise.reshape(c, h * w).cpu()
    out[:, torch.from_numpy(targets[first])] = flat[:, torch.from_numpy(sources[first])]
    return out.reshape(c, h, w)


def backward_flow(next_frame: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """DIS optical flow ``(H, W, 2)`` from ``next_frame`` back to ``frame`` (RGB uint8)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    a = cv2.cvtColor(next_frame, cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return dis.calc(a, b, None)


def chained_backward_flow(frames: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Flow ``(H, W, 2)`` from frame ``stop`` back to frame ``start``, composed of one-frame DIS flows.

    Small steps are what DIS estimates well; their composition follows motion that is too large to
    find between frames four apart directly.
    """
    total = backward_flow(frames[stop], frames[stop - 1])
    h, w = total.shape[:2]
    grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)), -1)
    for j in range(stop - 1, start, -1):
        step = backward_flow(frames[j], frames[j - 1])
        where = grid + total
        total = total + cv2.remap(step, where[..., 0], where[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return total


def latent_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixel flow ``(H, W, 2)`` -> flow on a latent grid ``size = (h, w)``, in latent pixels."""
    h, w = size
    scale = np.array([w / flow.shape[1], h / flow.shape[0]], np.float32)
    return cv2.resize(flow, (w, h), interpolation=cv2.INTER_AREA) * scale


def warped_noise_like(frames: np.ndarray, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Noise ``(1, C, F, h, w)`` whose latent frames follow the motion of ``frames`` ``(1 + 4k, H, W, 3)``.

    Latent frame ``i`` stands for pixel frame ``4 i`` (see :func:`~.context.context_frame_indices`);
    frame 0 is fresh noise, each next one the previous warped along the flow between their frames.
    """
    _, c, f, h, w = shape
    generator = torch.Generator().manual_seed(seed)
    index = context_frame_indices(f)
    if index[-1] >= len(frames):
        raise ValueError(f"{len(frames)} frames cannot drive {f} latent frames")
    if frames.shape[1] % h or frames.shape[1] // h != frames.shape[2] / w:  # 8x (Wan2.1) or 4x (small) VAEs
        raise ValueError(f"frames {frames.shape[1:3]} do not match the latent grid {(h, w)}")
    out = [torch.randn(c, h, w, generator=generator)]
    for i in range(1, f):
        flow = latent_flow(chained_backward_flow(frames, index[i - 1], index[i]), (h, w))
        out.append(warp_noise(out[-1], flow, generator))
    return torch.stack(out, dim=1).unsqueeze(0)
