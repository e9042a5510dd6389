"""Relighting: divide the estimated shading out, so the texture under a shadow is kept.

Under the multiplicative image model ``I = S * R`` (intrinsic images, Barrow & Tenenbaum 1978), a
shadow or a lamp changes the shading ``S`` and leaves the reflectance ``R``. With a background
``B`` that shows the same surface unaffected, a smooth estimate of the shading is the locally
averaged ratio,

    ``S_c = G * (w I_c / B_c) / G * w``        (normalized convolution, weight ``w`` = usable pixels)

and ``I_c / S_c`` is the surface relit, with the frame's own texture, grain and detail. The
correction is applied as a gain ``1 / (1 + a (S - 1))`` where ``a`` in [0, 1] is how confident we are
that the change is a shading change (its colour kept); ``a = 0`` leaves the pixel to the engine.
"""

from __future__ import annotations

import cv2
import numpy as np

from .shadows import masked_blur

MIN_SHADING = 0.25  # deeper shadows hold too little signal to brighten; the engine must fill them
MAX_SHADING = 2.5  # brighter "light" is more likely a wrong background than a lamp
CHROMA = 0.15  # largest log difference between a channel's shading and the mean shading
DARK = 8.0  # background values below this carry no usable ratio


def estimate_shading(frame: np.ndarray, background: np.ndarray, usable: np.ndarray, sigma: float) -> np.ndarray:
    """Per-channel shading ``(H, W, 3)`` float32 of ``frame`` relative to ``background`` (float32 RGB).

    The per-pixel ratio is smoothed, not the images before dividing: a ratio of blurred images mixes
    the texture into the shading wherever the shading varies, a blurred ratio does not.
    """
    ratio = (frame + 1.0) / (background + 1.0)
    weight = usable & (background.min(axis=-1) > DARK)
    shading, _ = masked_blur(ratio, weight, sigma)
    # A shading change keeps the surface's colour: keep each channel within CHROMA of the mean, so
    # a wrong background can never paint a colour cast.
    mean = np.exp(np.log(np.clip(shading, MIN_SHADING, MAX_SHADING)).mean(axis=-1, keepdims=True))
    shading = np.clip(shading, mean * np.exp(-CHROMA), mean * np.exp(CHROMA))
    return np.clip(shading, MIN_SHADING, MAX_SHADING).astype(np.float32)


def relight_gain(shading: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Gain ``(H, W, 3)`` float32 that undoes ``shading`` where ``confidence`` ``(H, W)`` is 1.

    Shading at the limits of the plausible range (a background that does not match) is trusted
    less and less, down to not at all at the limits themselves.
    """
    mean = shading.mean(axis=-1)
    plausible = np.clip(np.minimum((mean - MIN_SHADING) / 0.1, (MAX_SHADING - mean) / 0.5), 0.0, 1.0)
    a = (np.clip(confidence, 0.0, 1.0) * plausible)[..., None]
    return (1.0 / (1.0 + a * (shading - 1.0))).astype(np.float32)


def apply_gain(frame: np.ndarray, gain: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``frame`` ``(H, W, 3) uint8`` with ``gain`` applied inside ``region`` only; other pixels bit-exact."""
    out = frame.copy()
    if region.any():  # on the region's rows and columns at once: cheaper than gathering its pixels
        ys, xs = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
        box = np.s_[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
        relit = np.clip(frame[box] * gain[box] + 0.5, 0, 255).astype(np.uint8)
        # cv2.copyTo with a mask: ~50x faster than np.copyto(where=) over three channels
        out[box] = cv2.copyTo(relit, np.ascontiguousarray(region[box]).view(np.uint8), np.ascontiguousarray(out[box]))
    return out
