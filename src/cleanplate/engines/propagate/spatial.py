"""Fill spots that no frame of the window shows, once, and carry that fill along the flow.

Inpainting every frame on its own would flicker. As in FGVC (Gao et al., ECCV 2020, sec. 3.4),
the frame with the most never-seen pixels is inpainted spatially (Telea 2004, Navier-Stokes after
Bertalmio et al. 2001, or the shift-map method of Pritch et al., ICCV 2009, all from OpenCV),
then every other frame's never-seen pixels follow the completed flow to that reference frame and
take its (filled) colour. Frames whose pixels leave the reference frame's view are handled by the
next reference, until none is left.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import cv2
import numpy as np

from .flow import Scale, sample_points
from .propagation import PairFlow, chain_points

log = logging.getLogger(__name__)
_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def _to_uint8(colours: np.ndarray) -> np.ndarray:
    return np.clip(colours + 0.5, 0, 255).astype(np.uint8)


def inpaint_pixels(image: np.ndarray, pixels: np.ndarray, method: str, radius: int,
                   unread: np.ndarray | None = None) -> np.ndarray:
    """Colours ``(n, 3) float32`` for the flat ``pixels`` of ``image``, inpainted from the rest.

    ``unread``: flat indices of more pixels not to inpaint from (the hole's margin, where the
    object's edge may linger). Only a crop around the spots is read: ``2 * radius + 2`` px of
    context for the diffusion-like methods, as much again as the spots' extent for ``shiftmap``,
    which copies patches from it.
    """
    height, width = image.shape[:2]
    ys, xs = np.divmod(pixels, width)
    if unread is not None and len(unread):
        uy, ux = np.divmod(unread, width)
        near = (uy >= ys.min() - radius) & (uy <= ys.max() + radius) & (ux >= xs.min() - radius) & (ux <= xs.max() + radius)
        uy, ux = uy[near], ux[near]
    else:
        uy = ux = ys[:0]
    pad = 2 * radius + 2
    if method == "shiftmap":
        pad = max(pad, int(ys.max() - ys.min()), int(xs.max() - xs.min()))
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    mask[ys - y0, xs - x0] = 1
    mask[uy - y0, ux - x0] = 1
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    if method == "shiftmap":
        filled = np.zeros_like(crop)
        cv2.xphoto.inpaint(crop, (1 - mask) * np.uint8(255), filled, cv2.xphoto.INPAINT_SHIFTMAP)
    else:
        filled = cv2.inpaint(crop, mask, radius, _METHODS[method])
    return filled[ys - y0, xs - x0].astype(np.float32)


def fill_unseen(compose: Callable[[int], np.ndarray], unseen: dict[int, np.ndarray], margins: dict[int, np.ndarray],
                flows: Sequence[PairFlow], scale: Scale, method: str, radius: int) -> dict[int, np.ndarray]:
    """Colours for every frame's never-seen pixels: ``{i: (n_i, 3) float32}`` in ``unseen[i]``'s order.

    ``compose(i)`` returns a new array: frame ``i`` with every pixel found by propagation filled,
    ``(H, W, 3) uint8``; ``unseen[i]`` holds flat pixel indices of the rest; ``margins[i]`` those
    of the hole's margin, which the inpainting does not read.
    """
    width = scale.full[1]
    height = scale.full[0]
    remaining = {i: np.arange(len(p)) for i, p in unseen.items() if len(p)}
    colours = {i: np.zeros((len(p), 3), np.float32) for i, p in unseen.items()}
    if not remaining:
        return colours
    middle = (min(remaining) + max(remaining)) / 2
    while remaining:
        ref = max(remaining, key=lambda i: (len(remaining[i]), -abs(i - middle)))
        reference = compose(ref)
        rows = remaining.pop(ref)
        flat = reference.reshape(-1, 3)
        flat[unseen[ref]] = _to_uint8(colours[ref])  # rows filled from earlier references are context
        colours[ref][rows] = inpaint_pixels(reference, unseen[ref][rows], method, radius, margins.get(ref))
        log.debug("inpainted %d never-seen pixels of window frame %d", len(rows), ref)
        flat[unseen[ref][rows]] = _to_uint8(colours[ref][rows])
        for i in list(remaining):
            rows = remaining[i]
            py, px = np.divmod(unseen[i][rows], width)
            x, y = chain_points(flows, scale, i, ref, px.astype(np.float32), py.astype(np.float32))
            inside = (x > -0.5) & (x < width - 0.5) & (y > -0.5) & (y < height - 0.5)
            colours[i][rows[inside]] = sample_points(reference, x[inside], y[inside])
            if inside.all():
                del remaining[i]
            else:
                remaining[i] = rows[~inside]
    return colours
