"""Camera and object motion over a clip, as functions of a phase ``u`` in ``[0, 1]``.

Camera motions (``CAMERA_MOTIONS``):

- ``static``: a locked-off camera;
- ``pan``: the camera trucks sideways while turning slightly (the layers move at different speeds:
  parallax);
- ``zoom``: the focal length changes smoothly (in or out);
- ``shake``: hand-held: a sum of a few slow sinusoids jitters the image and the position.

Object motions (``OBJECT_MOTIONS``): ``crossing`` the frame, ``static``, ``entering`` or ``leaving``
the frame, ``rotating`` (turns and deforms while drifting).

Paths are sampled once from a seeded generator and then evaluated per frame without randomness, so a
clip of any length renders frame by frame (streaming) and the same seed gives the same clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .scene import Camera, View

CAMERA_MOTIONS = ("static", "pan", "zoom", "shake")
OBJECT_MOTIONS = ("crossing", "static", "entering", "leaving", "rotating")


@dataclass(frozen=True)
class CameraPath:
    """Where the camera is at phase ``u``; ``shake`` holds ``(amplitude_px, freq, phase)`` triples."""

    kind: str
    x: tuple[float, float]
    focal: tuple[float, float]
    shake_x: tuple[tuple[float, float, float], ...] = ()
    shake_y: tuple[tuple[float, float, float], ...] = ()

    def at(self, u: float, t: int) -> Camera:
        x = self.x[0] + (self.x[1] - self.x[0]) * u
        focal = self.focal[0] * (self.focal[1] / self.focal[0]) ** u
        dx = sum(a * math.sin(f * t + p) for a, f, p in self.shake_x)
        dy = sum(a * math.sin(f * t + p) for a, f, p in self.shake_y)
        return Camera(x=x, focal=focal, dx=dx, dy=dy)


def sample_camera(rng: np.random.Generator, kind: str, width: int, focal: float, depth: float) -> CameraPath:
    """A camera path of ``kind``; ``depth`` is the object's distance (sets the pan's size)."""
    if kind not in CAMERA_MOTIONS:
        raise ValueError(f"unknown camera motion {kind!r}; choose from {CAMERA_MOTIONS}")
    if kind == "static":
        return CameraPath(kind, (0.0, 0.0), (focal, focal))
    if kind == "pan":
        # Move the object's depth by 10-25% of the frame width across the clip.
        travel = rng.uniform(0.1, 0.25) * width * depth / focal * rng.choice([-1, 1])
        return CameraPath(kind, (0.0, float(travel)), (focal, focal))
    if kind == "zoom":
        ratio = rng.uniform(1.15, 1.4)
        ratio = ratio if rng.random() < 0.5 else 1 / ratio
        return CameraPath(kind, (0.0, 0.0), (focal, float(focal * ratio)))
    amp = 0.012 * width
    waves = lambda: tuple((float(amp * rng.uniform(0.3, 1.0)), float(rng.uniform(0.15, 0.6)),
                           float(rng.uniform(0, 2 * math.pi))) for _ in range(3))
    drift = rng.uniform(-0.04, 0.04) * width * depth / focal
    return CameraPath(kind, (0.0, float(drift)), (focal, focal), waves(), waves())


@dataclass(frozen=True)
class ObjectPath:
    """The object's ground position and pose at phase ``u``.

    ``x``: lateral world position at the start and end; ``z``: distance; ``lift``: height of its
    lowest point above the ground; ``angle``: rotation at start and end (radians); ``wobble``:
    relative amplitude of its shape change.
    """

    kind: str
    x: tuple[float, float]
    z: float
    lift: float = 0.0
    angle: tuple[float, float] = (0.0, 0.0)
    wobble: float = 0.0
    extras: dict = field(default_factory=dict)

    def at(self, u: float) -> tuple[float, float, float]:
        """``(x_world, angle, deformation_phase)``."""
        x = self.x[0] + (self.x[1] - self.x[0]) * u
        angle = self.angle[0] + (self.angle[1] - self.angle[0]) * u
        return x, angle, 2 * math.pi * u


def sample_object_path(rng: np.random.Generator, kind: str, view: View, z: float,
                       x_range: tuple[float, float] = (0.12, 0.88), margin: float = 0.1) -> ObjectPath:
    """A path of ``kind`` in the start view; ``x_range`` bounds where it may be (fractions of width).

    ``margin`` is half the object's width as a fraction of the frame width: entering and leaving
    start or end that far outside the frame so the object is wholly out of view there.
    """
    if kind not in OBJECT_MOTIONS:
        raise ValueError(f"unknown object motion {kind!r}; choose from {OBJECT_MOTIONS}")
    lo, hi = x_range
    w = view.width
    to_world = lambda frac: view.unproject_x(frac * w, z)
    if kind == "crossing":
        a, b = lo, hi
        if rng.random() < 0.5:
            a, b = b, a
        return ObjectPath(kind, (to_world(a), to_world(b)), z)
    if kind == "static":
        at = to_world(rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo)))
        return ObjectPath(kind, (at, at), z)
    if kind in ("entering", "leaving"):
        from_left = rng.random() < 0.5
        if hi < 0.9 or lo > 0.1:  # the allowed range keeps away from one edge: use the other
            from_left = hi < 0.9
        outside = -margin - 0.02 if from_left else 1 + margin + 0.02
        inside = rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo))
        a, b = (outside, inside) if kind == "entering" else (inside, outside)
        return ObjectPath(kind, (to_world(a), to_world(b)), z)
    centre = rng.uniform(lo + 0.3 * (hi - lo), hi - 0.3 * (hi - lo))
    drift = 0.1 * (hi - lo) * rng.choice([-1, 1])
    turn = rng.uniform(0.5, 1.2) * math.pi * rng.choice([-1, 1])
    return ObjectPath(kind, (to_world(centre - drift), to_world(centre + drift)), z,
                      angle=(0.0, float(turn)), wobble=float(rng.uniform(0.12, 0.25)))


def phase(t: int, frames: int, period: int | None = None) -> float:
    """Phase ``u`` of frame ``t``: linear over the clip, or a triangle wave of ``period`` frames.

    A period makes long clips loop smoothly (there and back) instead of crawling.
    """
    if period:
        k = (t % period) / (period / 2)
        return k if k <= 1 else 2 - k
    return t / (frames - 1) if frames > 1 else 0.0
