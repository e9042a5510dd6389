"""Shadow and light cues: a change of brightness that keeps the colour of the surface.

A cast shadow (or the light of a lamp the object carries) multiplies the light reaching a surface,
so it changes the luminance of the pixels it covers by a smooth factor and leaves their
chromaticity nearly alone (Finlayson et al., "On the removal of shadows from images", 2006;
Salvador et al. 2004 use the same invariance to tell shadows from objects in video). Given a
background that shows the surface unaffected — over time (:mod:`.background`) or from the lit
surroundings (:func:`spatial_background`) — the per-pixel ratio

    ``L = (Y_frame + e) / (Y_background + e)``

is below 1 under a shadow and above 1 under added light, while the log-chromaticity difference
``max_c |log(frame_c / background_c) - log L|`` stays small for both.
"""

from __future__ import annotations

import cv2
import numpy as np

from .config import SideEffectConfig

EPS = 3.0  # added to 0-255 values before taking ratios: dark pixels carry no reliable ratio
BROAD_SIGMA = 3.0  # blurs broader than this many pixels are done on a grid this much coarser


def ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, linear between; float32."""
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Mean of R, G, B ``(H, W)`` float32: a luminance that a pure multiplicative factor scales exactly."""
    rgb = rgb.astype(np.float32, copy=False)
    return (rgb[..., 0] + rgb[..., 1] + rgb[..., 2]) * np.float32(1 / 3)


def luminance_ratio(frame: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``L = (Y_frame + e) / (Y_background + e)`` ``(H, W)`` float32."""
    return ratio_of(luminance(frame), luminance(background))


def ratio_of(y_frame: np.ndarray, y_background: np.ndarray) -> np.ndarray:
    """:func:`luminance_ratio` from luminances already taken (a frame compared with several backgrounds)."""
    return (y_frame + EPS) / (y_background + EPS)


def compare(frame: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance ratio and chromaticity change of ``frame`` against ``background`` (both float32 RGB).

    Returns ``(ratio, chroma_change)``, both ``(H, W)`` float32.
    """
    ratio = luminance_ratio(frame, background)
    # max_c |log(x_c)| with x_c = ((frame_c + e) / (background_c + e)) / L: one logarithm, not four
    x = (frame + EPS) / ((background + EPS) * ratio[..., None])
    lo, hi = np.minimum(np.minimum(x[..., 0], x[..., 1]), x[..., 2]), channel_max(x)
    return ratio, np.log(np.maximum(hi, 1.0 / lo))


def channel_max(image: np.ndarray) -> np.ndarray:
    """Largest of the three channels ``(H, W)`` (faster than ``max(axis=-1)`` over three values)."""
    return np.maximum(np.maximum(image[..., 0], image[..., 1]), image[..., 2])


def chroma_kept(chroma_change: np.ndarray, config: SideEffectConfig) -> np.ndarray:
    """1 where the chromaticity change is within ``chroma_tol``, falling to 0 at twice that."""
    return ramp(2 * config.chroma_tol - chroma_change, 0.0, config.chroma_tol)


def shadow_evidence(ratio: np.ndarray, kept: np.ndarray, config: SideEffectConfig) -> np.ndarray:
    """Soft evidence ``(H, W)`` in [0, 1] of a shadow: darker, same colour."""
    return ramp(1.0 - ratio, config.dark_weak, config.dark_strong) * kept


def light_evidence(ratio: np.ndarray, kept: np.ndarray, config: SideEffectConfig) -> np.ndarray:
    """Soft evidence ``(H, W)`` in [0, 1] of added light: brighter, same colour."""
    return ramp(ratio - 1.0, config.bright_weak, config.bright_strong) * kept


def masked_blur(image: np.ndarray, weight: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalized convolution (Knutsson & Westin 1993): a Gaussian blur of ``image`` that ignores
    pixels of zero ``weight``. Returns ``(blurred, support)``; ``support`` is the blurred weight."""
    w = weight.astype(np.float32)
    weighted = image * (w[..., None] if image.ndim == 3 else w)
    factor = int(sigma // BROAD_SIGMA)
    if factor > 1:  # a broad blur loses nothing when done on a smaller grid, and costs far less
        h, wd = w.shape
        size = (max(1, wd // factor), max(1, h // factor))
        small_w = cv2.GaussianBlur(cv2.resize(w, size, interpolation=cv2.INTER_AREA), (0, 0), sigma / factor)
        small_n = cv2.GaussianBlur(cv2.resize(weighted, size, interpolation=cv2.INTER_AREA), (0, 0), sigma / factor)
        support = cv2.resize(small_w, (wd, h), interpolation=cv2.INTER_LINEAR)
        num = cv2.resize(small_n, (wd, h), interpolation=cv2.INTER_LINEAR)
    else:
        support = cv2.GaussianBlur(w, (0, 0), sigma)
        num = cv2.GaussianBlur(weighted, (0, 0), sigma)
    den = np.maximum(support, 1e-6)
    return num / (den[..., None] if image.ndim == 3 else den), support


def spatial_background(frame: np.ndarray, usable: np.ndarray, sigma: float, config: SideEffectConfig,
                       rounds: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The surface as it would look unshadowed, guessed from its surroundings in the same frame.

    A broad normalized-convolution blur of ``frame`` (float32 RGB) over ``usable`` pixels; after each
    round, pixels that look shadowed or lit against it are left out and the blur is redone, so the
    estimate converges to the level of the lit surroundings. Returns ``(background, known)``.
    """
    weight = usable.copy()
    for _ in range(rounds + 1):
        background, support = masked_blur(frame, weight, sigma)
        ratio, change = compare(frame, background)
        kept = chroma_kept(change, config)
        affected = (shadow_evidence(ratio, kept, config) > 0) | (light_evidence(ratio, kept, config) > 0)
        weight = usable & ~affected
    return background, support > 0.05


def surface_spread(frame: np.ndarray, background: np.ndarray, where: np.ndarray) -> float:
    """How much the surface's own texture varies around ``background``: a robust standard deviation
    (1.4826 x median absolute deviation) of the log luminance ratio over ``where``.

    A shadow found against the surroundings is only believable when it darkens the surface by more
    than this: on strongly textured ground every dark patch would look like one.
    """
    if where.sum() < 16:
        return float("inf")
    log_ratio = np.log((luminance(frame)[where] + EPS) / (luminance(background)[where] + EPS))
    return float(1.4826 * np.median(np.abs(log_ratio - np.median(log_ratio))))
