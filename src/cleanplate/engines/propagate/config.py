"""Options of the ``propagate`` engine, with what each one costs."""

from __future__ import annotations

import dataclasses

from ...errors import InputError

FLOW_PRESETS = ("ultrafast", "fast", "medium")
SPATIAL_METHODS = ("telea", "ns", "shiftmap")


@dataclasses.dataclass
class PropagateConfig:
    """Flow-guided video completion on the CPU (see :mod:`cleanplate.engines.propagate`)."""

    # Optical flow ---------------------------------------------------------------------------
    working_size: int = 320  # long side (px) at which flow is computed; larger is slower, sharper flow
    flow_preset: str = "medium"  # DIS preset: "ultrafast" / "fast" are ~5x / ~3x faster, ~2-3 dB worse fills
    flow_two_way: bool = False  # run DIS backward too instead of inverting the forward flow: ~2x flow cost
    flow_margin: int = 3  # working px the hole grows by before flow completion: DIS patches near the object carry its motion
    # Propagation ----------------------------------------------------------------------------
    window: int = 24  # frames held at once; memory and latency grow with it, so does the reach of sources
    overlap: int = 4  # finished frames carried into the next window as known sources: no jump at window boundaries
    lookahead: int = 4  # unfinished frames at a window's end that lend sources to it; each is traced twice
    source_margin: int = 3  # px at the hole's edge never used as sources: blurred object edges stay out of the fill
    consistency: float = 1.0  # forward-backward flow mismatch (working px) beyond which a chain step is refused
    far_references: int = 4  # far frames of the window, aligned by chained homographies, tried where no chain arrived
    blend_power: float = 2.0  # forward/backward candidates weighted 1/distance**power: higher is sharper but seams show
    colour_correction: bool = True  # match the fill's colour to the frame's around the hole; ~1 ms a frame
    # Never-visible spots --------------------------------------------------------------------
    # Inpainting of one reference frame: "telea" / "ns" (Navier-Stokes) take milliseconds and blur;
    # "shiftmap" copies texture but takes seconds for a person-sized spot (once per new spot).
    spatial: str = "telea"
    spatial_radius: int = 5  # neighbourhood of the spatial inpainting, in pixels

    def __post_init__(self) -> None:
        subject = "engine 'propagate'"
        if self.working_size < 16:
            raise InputError(subject, f"working_size must be >= 16, got {self.working_size}", "use e.g. 432")
        if self.flow_preset not in FLOW_PRESETS:
            raise InputError(subject, f"unknown flow_preset {self.flow_preset!r}", f"use one of {', '.join(FLOW_PRESETS)}")
        if self.spatial not in SPATIAL_METHODS:
            raise InputError(subject, f"unknown spatial {self.spatial!r}", f"use one of {', '.join(SPATIAL_METHODS)}")
        if min(self.overlap, self.lookahead, self.flow_margin, self.far_references, self.source_margin) < 0:
            raise InputError(subject, "overlap, lookahead, flow_margin, far_references and source_margin must be >= 0")
        if self.window - self.overlap - self.lookahead < 1:
            raise InputError(
                subject,
                f"window {self.window} leaves no new frames after overlap {self.overlap} and lookahead {self.lookahead}",
                "make window larger than overlap + lookahead",
            )
        if self.consistency <= 0 or self.blend_power < 0 or self.spatial_radius < 1:
            raise InputError(subject, "consistency must be > 0, blend_power >= 0 and spatial_radius >= 1")
