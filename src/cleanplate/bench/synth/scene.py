"""Layered backgrounds seen by a moving camera: a far photo, a ground plane and a near occluder.

The camera is a pinhole at height ``CAMERA_HEIGHT`` above a flat ground (world units), looking
along +Z. A point at lateral position ``X`` and distance ``Z`` projects to
``x = cx + focal * (X - cam.x) / Z``; the ground at distance ``Z`` projects to the row
``y = horizon + focal * CAMERA_HEIGHT / Z``. Because the far layer, the ground and the near
occluder sit at different distances, a sideways camera move shifts them by different amounts
(parallax), and a focal change (zoom) scales them about the image centre.

Images come only from photos and textures shipped inside scikit-image (no downloads).
Every array here is float32 RGB in ``[0, 1]``; conversion to uint8 happens in ``generate``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

CAMERA_HEIGHT = 1.0
FAR_DEPTH = 40.0  # distance of the far photo layer
GROUND_FADE = (9.0, 14.0)  # the ground fades into the far layer between these distances

#: Colour photos for the far layer and object textures (all shipped in the scikit-image wheel).
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina")
#: Grey textures for the ground plane and occluders, tinted per clip.
TEXTURES = ("brick", "grass", "gravel")
MAX_SIDE = 768  # photos are downscaled to this: plenty for any synthetic clip size


@functools.lru_cache(maxsize=None)
def load_image(name: str) -> np.ndarray:
    """A scikit-image sample as float32 RGB ``(H, W, 3)`` in ``[0, 1]``, at most ``MAX_SIDE`` pixels a side."""
    import skimage.data

    if name not in PHOTOS + TEXTURES + ("colorwheel",):
        raise ValueError(f"unknown image {name!r}")
    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3].astype(np.float32) / 255.0
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    image.setflags(write=False)
    return image


def tinted(name: str, tint: np.ndarray, contrast: float = 1.0) -> np.ndarray:
    """A grey texture coloured by ``tint`` (RGB in [0, 1]), contrast stretched about its mean."""
    grey = load_image(name)[..., :1]
    grey = np.clip((grey - grey.mean()) * contrast + grey.mean(), 0, 1)
    return np.ascontiguousarray(grey * tint[None, None, :].astype(np.float32) * 1.6).clip(0, 1)


@dataclass(frozen=True)
class Camera:
    """Camera state for one frame. ``x``: lateral position (world); ``focal``: pixels; ``dx, dy``: shake (pixels)."""

    x: float
    focal: float
    dx: float = 0.0
    dy: float = 0.0


@dataclass
class View:
    """Image geometry for one frame: size, principal point and horizon row (after shake)."""

    width: int
    height: int
    horizon_frac: float
    cam: Camera

    @property
    def cx(self) -> float:
        return self.width / 2 + self.cam.dx

    @property
    def horizon(self) -> float:
        return self.height * self.horizon_frac + self.cam.dy

    def project_x(self, x_world: float, z: float) -> float:
        return self.cx + self.cam.focal * (x_world - self.cam.x) / z

    def unproject_x(self, x_screen: float, z: float) -> float:
        return (x_screen - self.cx) * z / self.cam.focal + self.cam.x

    def ground_row(self, z: float) -> float:
        """Image row of the ground at distance ``z``."""
        return self.horizon + self.cam.focal * CAMERA_HEIGHT / z

    def ground_depth(self, y: np.ndarray) -> np.ndarray:
        """Distance of the ground seen at rows ``y`` (inf at and above the horizon)."""
        below = np.asarray(y, np.float32) - self.horizon
        with np.errstate(divide="ignore"):
            return np.where(below > 0.5, self.cam.focal * CAMERA_HEIGHT / np.maximum(below, 0.5), np.inf).astype(np.float32)

    def pixels_per_unit(self, z: float) -> float:
        return self.cam.focal / z


@dataclass
class Backdrop:
    """The static world behind the object: far photo, textured ground, optional near occluder.

    ``far`` and ``ground`` are float32 RGB textures; ``far_scale``/``ground_scale`` are texture pixels
    per world unit; ``occluder`` is ``None`` or ``(x_world, z, width_world, texture)``.
    """

    far: np.ndarray
    far_scale: float
    far_offset: tuple[float, float]
    ground: np.ndarray
    ground_scale: float
    occluder: tuple[float, float, float, np.ndarray] | None = None

    def render(self, view: View) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(rgb (H, W, 3) float32, ground_weight (H, W) float32)`` for one view, without the occluder.

        ``ground_weight`` is 1 where the ground plane is seen (0 on the far layer, ramping across the
        fade distance): effects that land on the ground (shadows, light pools) are scaled by it.
        """
        w, h = view.width, view.height
        xs = np.arange(w, dtype=np.float32)[None, :]
        ys = np.arange(h, dtype=np.float32)[:, None]
        f = view.cam.focal
        # Far layer: a fronto-parallel plane at FAR_DEPTH.
        fu = (xs - view.cx) * (FAR_DEPTH / f) + view.cam.x
        fv = (ys - view.horizon) * (FAR_DEPTH / f)
        map_x = np.broadcast_to(fu * self.far_scale + self.far_offset[0], (h, w))
        map_y = np.broadcast_to(fv * self.far_scale + self.far_offset[1], (h, w))
        rgb = cv2.remap(self.far, map_x.astype(np.float32), map_y.astype(np.float32),
                        cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        # Ground plane: row y sees distance Z; column x sees lateral X = (x - cx) Z / f + cam.x.
        z = view.ground_depth(ys)  # (h, 1)
        near, far = GROUND_FADE
        weight = np.clip((far - z) / (far - near), 0, 1).astype(np.float32)  # (h, 1)
        rows = np.nonzero(weight[:, 0] > 0)[0]
        ground_weight = np.broadcast_to(weight, (h, w))
        if rows.size:
            zr = z[rows]
            gx = ((xs - view.cx) * zr / f + view.cam.x) * self.ground_scale
            gy = np.broadcast_to(zr * self.ground_scale, gx.shape)
            ground = cv2.remap(self.ground, gx.astype(np.float32), gy.astype(np.float32),
                               cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
            a = weight[rows][..., None]
            rgb[rows] = a * ground + (1 - a) * rgb[rows]
        return rgb, ground_weight

    def draw_occluder(self, rgb: np.ndarray, view: View) -> None:
        """Paint the near occluder (if any) over ``rgb`` in place: it hides everything behind it."""
        if self.occluder is None:
            return
        x_world, z, width, texture = self.occluder
        x0 = view.project_x(x_world, z)
        x1 = view.project_x(x_world + width, z)
        a, b = int(np.clip(np.floor(x0), 0, view.width)), int(np.clip(np.ceil(x1), 0, view.width))
        if b <= a:
            return
        scale = texture.shape[1] / max(x1 - x0, 1.0)
        cols = ((np.arange(a, b, dtype=np.float32) - x0) * scale)[None, :]
        rows = (np.arange(view.height, dtype=np.float32) * scale)[:, None]
        patch = cv2.remap(texture, np.broadcast_to(cols, (view.height, b - a)).astype(np.float32),
                          np.broadcast_to(rows, (view.height, b - a)).astype(np.float32),
                          cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        shade = 0.75 + 0.25 * np.cos(np.linspace(-1.2, 1.2, b - a, dtype=np.float32))[None, :, None]
        rgb[:, a:b] = patch * shade


def occluder_mask(backdrop: Backdrop, view: View) -> np.ndarray:
    """Bool ``(H, W)``: pixels covered by the near occluder (nothing behind it is visible)."""
    mask = np.zeros((view.height, view.width), bool)
    if backdrop.occluder is None:
        return mask
    x_world, z, width, _ = backdrop.occluder
    a = int(np.clip(np.floor(view.project_x(x_world, z)), 0, view.width))
    b = int(np.clip(np.ceil(view.project_x(x_world + width, z)), 0, view.width))
    mask[:, a:b] = True
    return mask


def make_backdrop(rng: np.random.Generator, width: int, focal: float, occluder: bool) -> Backdrop:
    """Pick a far photo, a tinted ground texture and maybe a near occluder, all from ``rng``."""
    far = load_image(PHOTOS[rng.integers(len(PHOTOS))])
    # The far layer spans ~1.6 frame widths so a pan never runs off it (it reflects beyond that).
    world_width = width * FAR_DEPTH / focal
    far_scale = far.shape[1] / (1.6 * world_width)
    far_offset = (far.shape[1] / 2 + rng.uniform(-0.1, 0.1) * far.shape[1],
                  far.shape[0] * rng.uniform(0.55, 0.75))
    tint = rng.uniform(0.35, 0.8, 3)
    ground = tinted(TEXTURES[rng.integers(len(TEXTURES))], tint, rng.uniform(0.8, 1.4))
    ground_scale = ground.shape[1] / rng.uniform(2.5, 5.0)  # one tile every few world units
    near = None
    if occluder:
        z = rng.uniform(1.6, 2.4)
        side = rng.choice([-1.0, 1.0])
        half_view = width / 2 * z / focal
        post_width = rng.uniform(0.08, 0.14) * 2 * half_view
        x_world = side * half_view * rng.uniform(0.7, 0.9) - (post_width if side > 0 else 0.0)
        texture = tinted(TEXTURES[rng.integers(len(TEXTURES))], rng.uniform(0.3, 0.7, 3), 1.2)
        near = (float(x_world), float(z), float(post_width), texture[:, : max(8, texture.shape[1] // 4)].copy())
    return Backdrop(far, float(far_scale), far_offset, ground, float(ground_scale), near)
