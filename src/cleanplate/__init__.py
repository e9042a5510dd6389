"""cleanplate: remove an object from a video, and everything it caused.

>>> import cleanplate
>>> cleanplate.remove("clip.mp4", "mask.mp4", "clean.mp4")          # doctest: +SKIP
>>> for frame in cleanplate.remove_iter("clip.mp4", "mask.mp4"):    # doctest: +SKIP
...     ...
"""

from .api import RemoveOptions, remove, remove_iter
from .clip import Clip, VideoInfo
from .errors import CleanplateError, InputError, OutputError

__version__ = "0.1.0"

__all__ = ["remove", "remove_iter", "RemoveOptions", "Clip", "VideoInfo",
           "CleanplateError", "InputError", "OutputError", "__version__"]
