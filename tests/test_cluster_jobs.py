"""Job lists, and remove_many / remove_long run in this process (no Ray needed)."""

import json
import sys

import numpy as np
import pytest

import cleanplate
from cleanplate.cli import main
from cleanplate.cluster import Job, SegmentFailed, jobs_from_folders, read_manifest, remove_long, remove_many
from cleanplate.errors import InputError, OutputError
from cleanplate.io import open_video
from videofiles import audio_packets, square_masks, stream_facts, textured, write_video


@pytest.fixture
def clips(tmp_path):
    """Two tiny videos (one with audio) with masks, and a video whose mask is missing."""
    (tmp_path / "videos").mkdir()
    (tmp_path / "masks").mkdir()
    (tmp_path / "out").mkdir()
    for name, seed in (("a", 0), ("b", 1)):
        write_video(tmp_path / "videos" / f"{name}.mp4", textured(8, 32, 48, seed=seed), fps=10,
                    audio_seconds=0.8 if name == "a" else None)
        write_video(tmp_path / "masks" / f"{name}.mp4", square_masks(8, 32, 48, size=8, step=2), fps=10)
    return tmp_path


def test_read_manifest_csv_resolves_paths_beside_it(tmp_path):
    (tmp_path / "m.csv").write_text("video, Mask,output,notes\nv/a.mp4,m/a.mp4,out/a.mp4,first\n\n"
                                    "/abs/b.mp4,m/b.png,out/b,\n")
    jobs = read_manifest(tmp_path / "m.csv")
    assert jobs == [Job(str(tmp_path / "v/a.mp4"), str(tmp_path / "m/a.mp4"), str(tmp_path / "out/a.mp4")),
                    Job("/abs/b.mp4", str(tmp_path / "m/b.png"), str(tmp_path / "out/b"))]


def test_read_manifest_json_list_or_jobs_object(tmp_path):
    rows = [{"video": "a.mp4", "mask": "a_mask.mp4", "output": "a_out.mp4"}]
    (tmp_path / "list.json").write_text(json.dumps(rows))
    (tmp_path / "obj.json").write_text(json.dumps({"jobs": rows}))
    want = [Job(str(tmp_path / "a.mp4"), str(tmp_path / "a_mask.mp4"), str(tmp_path / "a_out.mp4"))]
    assert read_manifest(tmp_path / "list.json") == read_manifest(tmp_path / "obj.json") == want


@pytest.mark.parametrize("name,text,problem", [
    ("m.csv", "video,output\na.mp4,b.mp4\n", "has no 'mask' column"),
    ("m.csv", "video,mask,output\na.mp4,,b.mp4\n", "job 1: has no mask"),
    ("m.csv", "video,mask,output\n", "lists no jobs"),
    ("m.json", "[{\"video\": 1", "is not valid JSON"),
    ("m.json", "{\"videos\": []}", "is not a list of jobs"),
    ("m.txt", "video,mask,output\n", "is not a manifest"),
])
def test_bad_manifest_is_one_line_naming_the_problem(tmp_path, name, text, problem):
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError) as err:
        read_manifest(tmp_path / name)
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_jobs_from_folders_match_by_name(clips):
    jobs = jobs_from_folders(clips / "videos", clips / "masks", clips / "out")
    assert [(j.video, j.mask, j.output) for j in jobs] == [
        (str(clips / "videos" / f"{n}.mp4"), str(clips / "masks" / f"{n}.mp4"), str(clips / "out" / f"{n}.mp4"))
        for n in "ab"]
    assert jobs_from_folders(clips / "videos", clips / "masks", clips / "out", "")[0].output == str(clips / "out" / "a")
    write_video(clips / "videos" / "c.mp4", textured(2, 16, 16), fps=10)
    with pytest.raises(InputError, match="has no mask named c"):
        jobs_from_folders(clips / "videos", clips / "masks", clips / "out")


def _jobs(clips):
    v, m, o = clips / "videos", clips / "masks", clips / "out"
    return [(v / "a.mp4", m / "a.mp4", o / "a.mp4"), (v / "b.mp4", m / "missing.mp4", o / "b.mp4"),
            (v / "b.mp4", m / "b.mp4", o / "b_frames")]


def test_remove_many_in_process_reports_each_failure_and_goes_on(clips):
    calls = []
    results = remove_many(_jobs(clips), engine="telea", progress=lambda *a: calls.append(a))
    assert [r.status for r in results] == ["ok", "failed", "ok"]
    assert results[1].error == f"{clips / 'masks' / 'missing.mp4'}: does not exist — check the mask path"
    assert results[1].output is None and results[0].output == str(clips / "out" / "a.mp4")
    assert stream_facts(clips / "out" / "a.mp4")["frames"] == 8
    assert audio_packets(clips / "out" / "a.mp4") == audio_packets(clips / "videos" / "a.mp4")
    assert len(list(open_video(clips / "out" / "b_frames"))) == 8
    assert calls[0] == ("jobs", 0, 3) and calls[-1] == ("jobs", 3, 3)
    again = remove_many(_jobs(clips)[:1], engine="telea")  # the output exists now
    assert again[0].status == "failed" and "already exists" in again[0].error


def test_remove_many_refuses_before_any_work(clips):
    a = _jobs(clips)[0]
    with pytest.raises(OutputError, match="output of two jobs"):
        remove_many([a, (a[0], a[1], str(a[2]))], engine="telea")
    with pytest.raises(InputError, match="unknown option 'radiuss'"):
        remove_many([a], engine="telea", radiuss=3)
    assert not (clips / "out" / "a.mp4").exists()


@pytest.fixture
def long_clip(tmp_path):
    video = write_video(tmp_path / "long.mp4", textured(30, 32, 48, seed=4), fps=10, audio_seconds=3.0,
                        options={"g": "5"})
    mask = write_video(tmp_path / "mask.mp4", square_masks(30, 32, 48, size=6, step=1), fps=10)
    return tmp_path, video, mask


def test_remove_long_with_a_per_frame_engine_is_bit_exact(long_clip):
    folder, video, mask = long_clip
    want = cleanplate.remove(video, mask, engine="telea")
    calls = []
    out = remove_long(video, mask, folder / "frames", engine="telea", segments=3, overlap=3,
                      progress=lambda *a: calls.append(a))
    got = np.stack(list(open_video(out)))
    assert got.shape == want.shape and np.array_equal(got, want)
    assert ("segments", 3, 3) in calls and calls[-1] == ("write", 30, 30)
    assert sorted(p.name for p in folder.iterdir()) == ["frames", "long.mp4", "mask.mp4"]  # work folder gone


def test_remove_long_keeps_rate_length_and_audio_and_refuses_overwrite(long_clip):
    folder, video, mask = long_clip
    remove_long(video, mask, folder / "out.mp4", engine="median", segment_seconds=1.5, overlap=2, window=4)
    facts = stream_facts(folder / "out.mp4")
    assert (facts["width"], facts["height"], facts["frames"], facts["rate"]) == (48, 32, 30, 10)
    assert audio_packets(folder / "out.mp4") == audio_packets(video)
    with pytest.raises(OutputError, match="already exists"):
        remove_long(video, mask, folder / "out.mp4", engine="telea", segments=2, overlap=2)
    remove_long(video, mask, folder / "out.mp4", engine="telea", segments=2, overlap=2, overwrite=True)
    assert stream_facts(folder / "out.mp4")["frames"] == 30


def test_remove_long_failure_leaves_nothing(long_clip, monkeypatch):
    import cleanplate.cluster.long as long

    folder, video, mask = long_clip
    real = long.run_segment

    def second_fails(video, mask, segment, *args):
        if segment.index == 1:
            raise InputError(video, "went away")
        return real(video, mask, segment, *args)

    monkeypatch.setattr(long, "run_segment", second_fails)
    with pytest.raises(SegmentFailed) as err:
        remove_long(video, mask, folder / "out.mp4", engine="telea", segments=3, overlap=2)
    assert str(err.value) == f"segment 2 of 3 (frames 8-21) failed: {video}: went away"
    assert sorted(p.name for p in folder.iterdir()) == ["long.mp4", "mask.mp4"]


def test_remove_long_refuses_extra_outputs_and_arrays(long_clip):
    folder, video, mask = long_clip
    with pytest.raises(InputError, match="compare"):
        remove_long(video, mask, folder / "o.mp4", engine="telea", segments=2, compare=str(folder / "c.mp4"))
    with pytest.raises(InputError, match="must be a path"):
        remove_long(np.zeros((4, 8, 8, 3), np.uint8), mask, folder / "o.mp4", engine="telea", segments=2)
    with pytest.raises(InputError, match="at most 2 segments"):
        remove_long(video, mask, folder / "o.mp4", engine="telea", segments=4, overlap=6)


def test_cli_batch_manifest_writes_the_good_jobs_and_exits_1(clips, capsys):
    manifest = clips / "jobs.csv"
    manifest.write_text("video,mask,output\n" + "".join(f"{v},{m},{o}\n" for v, m, o in _jobs(clips)))
    code = main(["batch", str(manifest), "--engine", "telea"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [f"wrote {clips / 'out' / 'a.mp4'}", f"wrote {clips / 'out' / 'b_frames'}"]
    assert f"failed {clips / 'videos' / 'b.mp4'}: {clips / 'masks' / 'missing.mp4'}: does not exist" in err
    assert err.strip().splitlines()[-1] == "error: 1 of 3 jobs failed; the others were written"


def test_cli_batch_folders_and_one_long_video(clips, capsys):
    code = main(["batch", "--videos", str(clips / "videos"), "--masks", str(clips / "masks"),
                 "--out", str(clips / "out"), "--format", "mkv", "-e", "telea"])
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (clips / "out").iterdir()) == ["a.mkv", "b.mkv"]
    code = main(["batch", str(clips / "videos" / "a.mp4"), "-m", str(clips / "masks" / "a.mp4"),
                 "-o", str(clips / "out" / "a_long"), "--segments", "2", "--overlap", "2", "-e", "telea"])
    assert code == 0, capsys.readouterr().err
    want = cleanplate.remove(clips / "videos" / "a.mp4", clips / "masks" / "a.mp4", engine="telea")
    assert np.array_equal(np.stack(list(open_video(clips / "out" / "a_long"))), want)


def test_cli_batch_ray_without_ray_is_one_line(clips, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as if it were not installed
    manifest = clips / "jobs.json"
    manifest.write_text(json.dumps([dict(zip(("video", "mask", "output"), map(str, _jobs(clips)[0])))]))
    for argv in (["--ray", "auto"], ["--workers", "2"], ["--ray", "local", "--segments", "2"]):
        code = main(["batch", str(manifest), "-e", "telea", *argv])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1 and "pip install 'cleanplate[cluster]'" in err, err
    assert not (clips / "out" / "a.mp4").exists()
