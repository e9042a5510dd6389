"""Find and remove what the object caused: its shadow, its reflection, the light it casts.

:func:`add_side_effects` takes a clip whose quadmasks mark the object (REMOVE/OVERLAP), and
possibly an AFFECTED region the user gave, and returns a clip whose masks also mark the estimated
side effects AFFECTED and whose frames are relit there (shading divided out, texture kept). The
engine then fills REMOVE and AFFECTED alike: from other frames where the spot is unaffected, from
the relit pixel where it never is. See ``docs/side-effects.md``.
"""

from __future__ import annotations

from ..clip import Clip
from ..progress import ProgressFn
from .config import SideEffectConfig
from .sideclip import SideEffectClip


def add_side_effects(clip: Clip, progress: ProgressFn | None = None,
                     config: SideEffectConfig | None = None) -> SideEffectClip:
    """Mark the side effects of the masked object AFFECTED and relight the frames there.

    ``clip``: frames ``(H, W, 3) uint8 RGB`` with quadmasks ``(H, W) uint8``. Returns a lazy
    :class:`SideEffectClip` with the same frames and masks except inside the estimated AFFECTED
    region (pixels outside it are returned bit-exact); its ``soft_masks()`` stream holds the soft
    estimate ``(H, W) float32`` in [0, 1]. A user-given AFFECTED region is always kept and grown
    over adjacent evidence. Memory is bounded by one analysis window at working resolution.
    Progress is reported as ``progress("side-effects", done, total)``.
    """
    config = config or SideEffectConfig()
    config.check()
    return SideEffectClip(clip, config, progress)


__all__ = ["add_side_effects", "SideEffectClip", "SideEffectConfig"]
