"""Still images: frame folders and single-image masks.

Frames come back as ``(H, W, 3) uint8 RGB`` and masks as ``(H, W) uint8`` grey, whatever the file
holds (grey, palette, alpha, 16-bit). JPEG EXIF orientation is honoured, as a photo viewer would.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


def natural_key(path: Path) -> list:
    """Sort key that puts ``frame2.png`` before ``frame10.png``."""
    return [(0, int(tok), "") if tok.isdigit() else (1, 0, tok.lower())
            for tok in re.split(r"(\d+)", path.name)]


def is_image(path: Path) -> bool:
    """An image file by its name (hidden files such as macOS ``._x.png`` are not frames)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def list_images(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, in natural order."""
    return sorted((p for p in folder.iterdir() if p.is_file() and is_image(p)), key=natural_key)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.dtype.kind == "f":  # EXR/TIFF float in [0, 1]
        return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.clip(image, 0, 255).astype(np.uint8)


def read_rgb(path: Path) -> np.ndarray:
    """One image as ``(H, W, 3) uint8 RGB``: grey is replicated, alpha dropped, 16-bit rounded."""
    data = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if data is None:
        raise InputError(path, "cannot be read as an image", "check it is a PNG or JPEG that is not corrupt")
    return cv2.cvtColor(_to_uint8(data), cv2.COLOR_BGR2RGB)


def read_grey(path: Path) -> np.ndarray:
    """One image as ``(H, W) uint8`` luma, for masks."""
    data = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    if data is None:
        raise InputError(path, "cannot be read as an image", "check it is a PNG or JPEG that is not corrupt")
    return _to_uint8(data)
