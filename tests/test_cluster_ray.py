"""remove_many and remove_long on a local Ray of 2 CPUs (one Ray session for the whole module)."""

import logging
import sys

import numpy as np
import pytest

import cleanplate
from cleanplate.cluster import remove_long, remove_many
from cleanplate.cluster.ray_runner import RayRunner
from cleanplate.io import open_video
from videofiles import square_masks, stream_facts, textured, write_video

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'cleanplate[cluster]')")


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    # Workers unpickle this module's task functions by name: let them import it as the driver did.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


@pytest.fixture
def clips(tmp_path):
    for name, seed in (("a", 0), ("b", 1)):
        write_video(tmp_path / f"{name}.mp4", textured(8, 32, 48, seed=seed), fps=10)
    write_video(tmp_path / "mask.mp4", square_masks(8, 32, 48, size=8, step=2), fps=10)
    return tmp_path


def test_remove_many_on_ray_two_successes_one_one_line_error(clips):
    jobs = [(clips / "a.mp4", clips / "mask.mp4", clips / "a_out.mp4"),
            (clips / "b.mp4", clips / "no_such_mask.mp4", clips / "b_out.mp4"),
            (clips / "b.mp4", clips / "mask.mp4", clips / "b_frames")]
    done = []
    results = remove_many(jobs, engine="telea", ray_address="local", progress=lambda *a: done.append(a[1]))
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert results[1].error == f"{clips / 'no_such_mask.mp4'}: does not exist — check the mask path"
    assert all(r.host for r in results) and results[0].seconds > 0
    assert stream_facts(clips / "a_out.mp4")["frames"] == 8
    want = cleanplate.remove(clips / "b.mp4", clips / "mask.mp4", engine="telea")
    assert np.array_equal(np.stack(list(open_video(clips / "b_frames"))), want)
    assert done == [0, 1, 2, 3]


def test_remove_long_on_ray_equals_the_single_process_result(tmp_path):
    video = write_video(tmp_path / "long.mp4", textured(24, 32, 48, seed=5), fps=10, options={"g": "4"})
    mask = write_video(tmp_path / "mask.mp4", square_masks(24, 32, 48, size=6, step=1), fps=10)
    want = cleanplate.remove(video, mask, engine="telea")
    out = remove_long(video, mask, tmp_path / "frames", engine="telea", segments=3, overlap=2, ray_address="auto",
                      work_dir=tmp_path)
    assert np.array_equal(np.stack(list(open_video(out))), want)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "long.mp4", "mask.mp4"]


def _crash(_):
    import os

    os._exit(3)  # the worker process dies, as after an out-of-memory kill


def _square(x):
    return x * x


def test_a_dead_worker_is_one_task_error_not_a_crash():
    runner = RayRunner(ray)
    outcomes = sorted(runner.run(_square, [(2,), (3,)]))
    assert outcomes == [(0, 4, None), (1, 9, None)]
    ((index, value, error),) = list(runner.run(_crash, [(0,)]))
    assert index == 0 and value is None and "\n" not in error and "died" in error.lower(), error


def test_cli_batch_on_ray_local(clips, capsys):
    from cleanplate.cli import main

    manifest = clips / "jobs.csv"
    manifest.write_text("video,mask,output\na.mp4,mask.mp4,a_cli.mp4\nb.mp4,mask.mp4,b_cli.mp4\n")
    code = main(["batch", str(manifest), "--ray", "local", "-e", "telea"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines() == [f"wrote {clips / 'a_cli.mp4'}", f"wrote {clips / 'b_cli.mp4'}"]
