"""The ``diffusion`` engine: UnderEraser on a Wan2.1-style video DiT (see docs/diffusion.md).

Importing this package registers the engine; torch and diffusers are imported only when it runs.
"""

from .config import DiffusionConfig
from .engine import DiffusionEngine

__all__ = ["DiffusionEngine", "DiffusionConfig"]
