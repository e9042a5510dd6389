"""Open a video and its mask as one :class:`~cleanplate.clip.Clip`, checked before any work is done.

The video comes from :mod:`.video` (files through PyAV, frame folders), the mask from :mod:`.masks`
(a video, folder or image; binary or quadmask), aligned to the video by :mod:`.align`.
"""

from __future__ import annotations

import os

from ..clip import Clip
from ..progress import ProgressFn
from .images import IMAGE_SUFFIXES, list_images, natural_key
from .masks import MaskSource, open_mask
from .video import VIDEO_SUFFIXES, VideoSource, open_video


def open_clip(video: str | os.PathLike, mask: str | os.PathLike, invert_mask: bool = False,
              mask_kind: str = "auto", progress: ProgressFn | None = None) -> Clip:
    """Open ``video`` and ``mask`` as an aligned :class:`Clip`.

    Raises :class:`~cleanplate.errors.InputError` — naming the file, the problem and the fix — for a
    missing or unreadable file, a video with no frames, a mask that selects nothing or everything,
    and a mask whose length cannot be matched to the video's. Frames ``(H, W, 3) uint8 RGB`` and
    quadmasks ``(H, W) uint8`` are then streamed afresh on each call of ``frames()``/``masks()``.
    """
    source = open_video(video)
    masks = open_mask(mask, source.info, invert_mask, mask_kind, progress)
    return Clip(source.info, source.__iter__, masks.__iter__)


__all__ = ["open_clip", "open_video", "open_mask", "VideoSource", "MaskSource", "VIDEO_SUFFIXES",
           "IMAGE_SUFFIXES", "list_images", "natural_key"]
