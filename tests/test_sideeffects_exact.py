"""Shortcuts the side-effect analysis takes for speed give what the plain computation gives, to the bit."""

import numpy as np

from cleanplate.sideeffects import mirror
from cleanplate.sideeffects.window import AlignedWindow

from test_sideeffects_moving import panned_scene


def test_mirror_correlation_equals_plain_numpy():
    rng = np.random.default_rng(0)
    for n in (3, 17, 128, 1000, 4099):
        a = rng.normal(100, 30, n).astype(np.float32)
        b = (0.5 * a + rng.normal(0, 20, n)).astype(np.float32)
        da, db = a - a.mean(), b - b.mean()
        plain = float((da * db).sum()) / float(np.sqrt((da * da).sum() * (db * db).sum()))
        assert mirror._ncc(a, b) == plain


def test_mirror_line_scores_equal_index_arrays():
    rng = np.random.default_rng(1)
    grey = rng.normal(100, 30, (60, 40)).astype(np.float32)
    obj = np.zeros((60, 40), bool)
    obj[8:30, 10:30] = True
    scores = mirror._line_scores(grey, obj, range(40, 80), 40)
    assert len(scores) > 20
    for ncc, line2 in scores:  # the rows below the line and their mirror rows above, as index arrays
        below = line2 // 2 + np.arange(mirror.SKIP, min(40, 59 - line2 // 2, line2 - line2 // 2) + 1)
        take = obj[line2 - below] & ~obj[below]
        a, b = grey[below][take], grey[line2 - below][take]
        da, db = a - a.mean(), b - b.mean()
        assert ncc == float((da * db).sum()) / float(np.sqrt((da * da).sum() * (db * db).sum()))


def test_masks_put_on_the_canvas_once_equal_warping_them():
    win = AlignedWindow(panned_scene(own_motion=3))
    assert not win.still
    for i in range(len(win.frames)):
        assert np.array_equal(win.obj_on_canvas(i), win.to_ref(win.frames[i].obj, i))
        assert np.array_equal(win.blocked_on_canvas(i), win.to_ref(win.blocked[i], i))
        # a nearest-neighbour warp commutes with or: what the refined background relies on
        extra = np.zeros_like(win.blocked[i])
        extra[5:30, 3 * i:3 * i + 20] = True
        assert np.array_equal(win.to_ref(win.blocked[i] | extra, i), win.blocked_on_canvas(i) | win.to_ref(extra, i))
    zones = [np.roll(f.obj, 5, axis=0) | f.obj for f in win.frames]
    union = np.logical_or.reduce([win.to_ref(z, i) for i, z in enumerate(zones)])
    assert np.array_equal(win.union_on_canvas(zones), union)
    crop = (10, 70, 20, 120)
    plain = np.stack([(win.to_ref(win.blocked[i], i) | win.outside[k])[10:70, 20:120] for k, i in enumerate(win.sampled)])
    assert np.array_equal(win.excluded_stack(crop), plain)
