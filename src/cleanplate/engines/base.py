"""The engine contract.

An engine turns a :class:`~cleanplate.clip.Clip` (frames and quadmasks) into completed frames. It
owns nothing else: reading, mask preparation, compositing at native resolution and writing are done
around it by :func:`cleanplate.remove`. Each engine declares a typed ``Config`` dataclass; its
fields are the options a user may pass (``cleanplate.remove(..., engine="x", field=value)``).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import ClassVar, Iterator

import numpy as np

from ..clip import Clip
from ..errors import InputError
from ..progress import ProgressFn


@dataclasses.dataclass
class EmptyConfig:
    """An engine with no options."""


class Engine(ABC):
    """Base class of every engine. Subclasses register themselves with :func:`register`."""

    name: ClassVar[str]
    Config: ClassVar[type] = EmptyConfig
    #: Shown when ``is_available()`` is false, e.g. "pip install 'cleanplate[diffusion]'".
    install_hint: ClassVar[str] = ""

    def __init__(self, config=None, **options):
        if config is None:
            config = self.make_config(**options)
        elif options:
            config = dataclasses.replace(config, **options)
        self.config = config

    # -- required -----------------------------------------------------------------------------
    @abstractmethod
    def fill(self, clip: Clip, progress: ProgressFn | None = None) -> Iterator[np.ndarray]:
        """Yield one completed frame ``(H, W, 3) uint8 RGB`` per input frame, in order.

        Every pixel where the clip's quadmask is not KEEP should be replaced or corrected. Pixels
        elsewhere may be returned as they are; the caller composites inside the hole only.
        """

    # -- optional -----------------------------------------------------------------------------
    @classmethod
    def is_available(cls) -> bool:
        """Whether the engine's optional dependencies import."""
        return True

    @classmethod
    def make_config(cls, **options):
        """Build ``Config`` from keyword options, naming any unknown one and the valid ones."""
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        unknown = sorted(set(options) - fields)
        if unknown:
            valid = ", ".join(sorted(fields)) or "none"
            raise InputError(
                f"engine '{cls.name}'",
                f"unknown option {unknown[0]!r}",
                f"valid options are: {valid}",
            )
        return cls.Config(**options)
