"""Options of side-effect estimation and relighting."""

from __future__ import annotations

import dataclasses

from ..errors import InputError


@dataclasses.dataclass
class SideEffectConfig:
    """How :func:`cleanplate.sideeffects.add_side_effects` finds and corrects the object's effects.

    Distances are in pixels of the full-resolution video unless said otherwise.
    """

    # -- which cues are on ----------------------------------------------------------------------
    shadows: bool = True  # darkening that keeps chromaticity (cast and contact shadows)
    lights: bool = True  # brightening that keeps chromaticity (the object's lamp, glow)
    reflections: bool = True  # mirror image below a contact line (water, glass, glossy floor)
    spatial: bool = True  # where time gives no evidence (the object hardly moves): compare with the lit surroundings
    still_lamps: bool = False  # a still lamp's light, from the surroundings (:mod:`.lamp`); experimental, see docs/side-effects.md
    relight: bool = True  # divide the estimated shading out of the AFFECTED pixels

    # -- thresholds -----------------------------------------------------------------------------
    dark_weak: float = 0.03  # luminance drop (1 - ratio) where shadow evidence starts
    dark_strong: float = 0.18  # luminance drop of full evidence; seeds need it
    bright_weak: float = 0.05  # luminance gain (ratio - 1) where light evidence starts
    bright_strong: float = 0.25  # luminance gain of full evidence
    chroma_tol: float = 0.12  # largest change of log-chromaticity a shadow or light may make
    change_weak: float = 12.0  # colour difference (0-255) where reflection evidence starts
    change_strong: float = 30.0  # colour difference of full evidence
    mirror_ncc: float = 0.25  # correlation with the mirrored object where reflection evidence starts
    threshold: float = 0.05  # soft mask level above which a pixel becomes AFFECTED
    min_area: float = 0.02  # a candidate region smaller than this fraction of the object's area is noise

    # -- where to look --------------------------------------------------------------------------
    search_radius: float = 1.5  # look this many object heights around the object
    search_min: int = 16  # ... and at least this many pixels (also the margin grown around a user's AFFECTED region)
    contact_reach: float = 0.6  # spatial cues look this many object heights around the object's base
    max_fraction: float = 0.35  # an estimate over this fraction of the frame is capped (and logged)

    # -- cost -----------------------------------------------------------------------------------
    work_size: int = 240  # estimate at this longest side (the video is never upscaled); shadows are smooth
    window: int = 40  # frames a background is estimated from; memory grows with it (low resolution)
    overlap: int = 12  # frames shared by consecutive windows, so every frame has context on both sides
    refine_background: bool = False  # re-estimate the background without the first side-effect guess (~1.3x cost)
    cache_windows: int = 3  # analysed windows kept for the other readers of the same clip

    def check(self) -> None:
        """Raise :class:`InputError` naming the first option that cannot work."""
        rules = [
            ("window", self.window >= 3, "must be >= 3"),
            ("overlap", 0 <= self.overlap < self.window, "must be >= 0 and < window"),
            ("work_size", self.work_size >= 32, "must be >= 32"),
            ("max_fraction", 0 < self.max_fraction <= 1, "must be in (0, 1]"),
            ("threshold", 0 < self.threshold < 1, "must be in (0, 1)"),
            ("dark_strong", 0 < self.dark_weak < self.dark_strong < 1, "need 0 < dark_weak < dark_strong < 1"),
            ("bright_strong", 0 < self.bright_weak < self.bright_strong, "need 0 < bright_weak < bright_strong"),
            ("change_strong", 0 < self.change_weak < self.change_strong, "need 0 < change_weak < change_strong"),
            ("search_radius", self.search_radius > 0 and self.search_min >= 0, "must be > 0 (search_min >= 0)"),
            ("cache_windows", self.cache_windows >= 1, "must be >= 1"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise InputError(f"side-effect option {name}", f"{rule}, got {getattr(self, name)!r}",
                                 f"pick another {name} (the options are listed in docs/side-effects.md)")
