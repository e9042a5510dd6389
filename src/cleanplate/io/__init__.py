"""Reading videos and masks, writing results.

- :func:`open_clip` opens a video (file or frame folder) and its mask (video, folder or one image;
  binary or quadmask) as a :class:`~cleanplate.clip.Clip`, aligned frame to frame, after checking both.
- :func:`open_writer` writes frames to a video file or a PNG folder under a temporary name and
  moves it into place when closed without error; :func:`check_outputs` refuses bad output paths
  before any work starts.

Formats, mask conventions and alignment rules: ``docs/io.md``.
"""

from .masks import MASK_KINDS, looks_like_quadmask
from .outputs import check_output, check_outputs
from .readers import open_clip, open_mask, open_video
from .writers import open_writer

__all__ = ["open_clip", "open_video", "open_mask", "open_writer", "check_output", "check_outputs",
           "looks_like_quadmask", "MASK_KINDS"]
