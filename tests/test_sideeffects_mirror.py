"""The reflection-aware fill: finding the mirror line and rebuilding the water from the fill above it."""

import cv2
import numpy as np

from cleanplate import quadmask
from cleanplate.sideeffects.mirror import carry_mirrors, find_mirrors, mirror_band, mirror_fill

H, W, LINE = 96, 128, 60  # the surface's line lies between rows LINE and LINE + 1 (line2 = 2 * LINE + 1)


def _texture(rng, shape, levels=(40, 220)):
    """Random colour texture (float32) spanning ``levels``, with blobs a few pixels wide."""
    noise = cv2.GaussianBlur(rng.uniform(0, 1, shape + (3,)).astype(np.float32), (0, 0), 2.5)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return levels[0] + noise * (levels[1] - levels[0])


def _scene(seed=0, attenuation=0.6, object_present=True, shift=0):
    """``(frame, clean, obj)``: a textured world above the line, water mirroring it below.

    The object is a textured box standing on the line; the water is ``a * mirror + (1 - a) * W``,
    the same formula for the frame and for the clean plate. ``shift`` displaces every other row of
    the reflection sideways by that many pixels (ripples).
    """
    rng = np.random.default_rng(seed)
    back = _texture(rng, (H, W), (60, 160))
    water_own = _texture(rng, (H, W), (20, 80))
    obj = np.zeros((H, W), bool)
    obj[LINE - 30:LINE + 1, 40:70] = True
    world = back.copy()
    if object_present:
        world[obj] = _texture(rng, (H, W), (0, 255))[obj]

    def reflect(image):
        out = image.copy()
        for y in range(LINE + 1, H):
            src = image[2 * LINE + 1 - y]
            if shift and y % 2:
                src = np.roll(src, shift, axis=0)
            out[y] = attenuation * src + (1 - attenuation) * water_own[y]
        return out

    to8 = lambda im: np.clip(im + 0.5, 0, 255).astype(np.uint8)
    return to8(reflect(world)), to8(reflect(back)), obj


def test_find_mirrors_recovers_the_line_and_the_attenuation():
    frame, _, obj = _scene(attenuation=0.6)
    mirrors = find_mirrors(frame, obj)
    assert len(mirrors) == 1
    m = mirrors[0]
    assert abs(m.line2 - (2 * LINE + 1)) <= 1
    assert abs(m.attenuation - 0.6) < 0.06
    assert abs(m.x0 - 40) < 4 and abs(m.x1 - 70) < 4  # the parts are found on a subsampled mask


def test_find_mirrors_ignores_a_shadow_and_a_plain_floor():
    rng = np.random.default_rng(1)
    frame, _, obj = _scene(seed=1)
    ground = _texture(rng, (H, W), (60, 160))
    shadowed = ground.copy()
    # The silhouette cast straight down, darkened: the shape of a mirror image without its detail.
    for y in range(LINE + 1, min(H, LINE + 31)):
        shadowed[y, 40:70] *= 0.5
    scene = frame.copy()
    scene[LINE + 1:] = np.clip(shadowed[LINE + 1:], 0, 255).astype(np.uint8)
    assert find_mirrors(scene, obj) == []
    plain = frame.copy()
    plain[LINE + 1:] = 120
    assert find_mirrors(plain, obj) == []


def test_find_mirrors_is_not_fooled_by_a_cast_shadow_that_follows_the_outline():
    """Synth shadow clip 16: a smooth object whose shadow under it correlates with it in brightness
    (a plain symmetry test takes it for a reflection in 17 of 24 frames); only a reflection repeats
    the object's fine detail."""
    from cleanplate.bench.synth.generate import generate_clip

    clip = generate_clip(16, "shadow", (320, 192), 24)
    assert [find_mirrors(frame, obj) for frame, obj in zip(clip.input, clip.object)] == [[]] * 24
    reflection = generate_clip(17, "reflection", (320, 192), 24)
    found = sum(bool(find_mirrors(f, o)) for f, o in zip(reflection.input, reflection.object))
    assert found >= 20


def test_mirror_fill_rebuilds_the_water_and_marks_only_what_it_changed():
    frame, clean, obj = _scene(attenuation=0.7)
    q = np.full((H, W), quadmask.KEEP, np.uint8)
    q[obj] = quadmask.REMOVE
    filled = frame.copy()
    filled[obj] = clean[obj]  # a perfect fill of the object above the line
    mirrors = find_mirrors(frame, obj)
    out, marked = mirror_fill(frame, filled, q, mirrors)
    reflection = np.abs(frame.astype(int) - clean.astype(int)).max(-1) > 6
    reflection[:LINE + 1] = False
    err = np.abs(out.astype(int) - clean.astype(int))[reflection]
    before = np.abs(frame.astype(int) - clean.astype(int))[reflection]
    assert err.mean() < 0.25 * before.mean()
    # Nothing changes outside the mirror image of the hole; what changed is marked AFFECTED.
    changed = (out != filled).any(-1)
    assert not changed[:LINE + 1].any()
    assert not (changed & ~mirror_band(mirrors, (H, W))).any()
    assert (marked[changed] == quadmask.AFFECTED).all()
    assert np.array_equal(marked[obj], q[obj])
    newly = (marked != q)
    assert not (newly & ~mirror_band(mirrors, (H, W))).any()


def test_mirror_fill_follows_ripples():
    frame, clean, obj = _scene(attenuation=0.7, shift=2)
    q = np.full((H, W), quadmask.KEEP, np.uint8)
    q[obj] = quadmask.REMOVE
    filled = frame.copy()
    filled[obj] = clean[obj]
    mirrors = find_mirrors(frame, obj)
    assert mirrors
    out, _ = mirror_fill(frame, filled, q, mirrors)
    band = np.zeros((H, W), bool)
    band[LINE + 1:LINE + 31, 36:74] = True
    mse = lambda a: float(((a.astype(float) - clean) ** 2)[band].mean())
    assert mse(out) < 0.1 * mse(frame)


def test_mirror_fill_keeps_water_the_engine_found():
    frame, clean, obj = _scene(attenuation=0.7)
    q = np.full((H, W), quadmask.KEEP, np.uint8)
    q[obj] = quadmask.REMOVE
    q[LINE + 1:LINE + 31, 40:70] = quadmask.AFFECTED
    filled = clean.copy()  # the engine saw the water unaffected elsewhere: its pixels are exact
    out, _ = mirror_fill(frame, filled, q, find_mirrors(frame, obj))
    err = np.abs(out.astype(int) - clean.astype(int)).max(-1)[q == quadmask.AFFECTED]
    assert err.mean() < 1.0
    assert mirror_fill(frame, filled, q, []) == (filled, q)


def test_carry_mirrors_moves_the_last_surface_onto_the_overlapping_part():
    frame, _, obj = _scene()
    (m,) = find_mirrors(frame, obj)
    moved = np.zeros_like(obj)
    moved[LINE - 30:LINE + 1, 52:82] = True  # the object slid 12 pixels to the right
    (carried,) = carry_mirrors([m], moved)
    assert (carried.line2, carried.attenuation) == (m.line2, m.attenuation)
    assert abs(carried.x0 - 52) < 4 and abs(carried.x1 - 82) < 4
    away = np.zeros_like(obj)
    away[LINE - 30:LINE + 1, 90:120] = True  # no overlap: a different object, nothing carried
    assert carry_mirrors([m], away) == []


def test_remove_rebuilds_a_reflection_no_frame_shows_without_the_object(monkeypatch):
    """Through ``cleanplate.remove``: an object turning in place over water (synth seed 113), so the
    water under its reflection is never seen unaffected; the mirror fill must beat the engine's
    invention there, and change nothing outside the region it reports."""
    from cleanplate.api import run_engine, RemoveOptions, as_clip
    from cleanplate.bench.synth.generate import generate_clip
    from cleanplate.engines import get_engine
    import cleanplate.sideeffects.sideclip as sideclip

    clip = generate_clip(113, "reflection", (240, 144), 10)
    assert clip.meta["motion"] == "rotating"

    def run():
        engine = get_engine("propagate")(get_engine("propagate").Config())
        triples = list(run_engine(as_clip(clip.input, clip.object), engine, RemoveOptions(side_effects="auto")))
        return np.stack([r for _, r, _ in triples]), np.stack([q for _, _, q in triples])

    def psnr(out):
        err = (out.astype(float) - clip.gt)[clip.side]
        return 10 * np.log10(255 ** 2 / (err ** 2).mean())

    rebuilt, q = run()
    assert (rebuilt[q == quadmask.KEEP] == clip.input[q == quadmask.KEEP]).all()
    monkeypatch.setattr(sideclip, "find_mirrors", lambda frame, obj: [])
    invented, _ = run()
    assert psnr(rebuilt) > psnr(invented) + 3
