"""Reading videos and masks, writing results.

- :func:`open_clip` opens a video (file or frame folder) and its mask (video, folder or one image)
  as a :class:`~cleanplate.clip.Clip`, aligned frame to frame, after checking both.
- :func:`open_writer` writes frames to an mp4 or a PNG folder under a temporary name and moves it
  into place when closed without error.
"""

from .readers import open_clip, open_video, open_mask
from .writers import open_writer, check_output

__all__ = ["open_clip", "open_video", "open_mask", "open_writer", "check_output"]
