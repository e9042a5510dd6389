"""cleanplate bench: engine specs, the runner, loaders of published layouts, reports, speed sweep."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cleanplate.bench import metrics
from cleanplate.bench.specs import parse_engine_spec, parse_engine_specs
from cleanplate.bench.loaders import ClipSource, PairedClip, estimate_side_mask, open_dataset, synth_sources
from cleanplate.bench.report import cell
from cleanplate.bench.runner import run_benchmark
from cleanplate.bench.synth import generate_clip, write_dataset
from cleanplate.engines import register
from cleanplate.engines.base import Engine
from cleanplate.errors import InputError, OutputError

TINY = dict(size=(64, 48), frames=4)


def test_engine_spec_parses_typed_engine_and_remove_options():
    spec = parse_engine_spec("telea:radius=3,dilate=6,side_effects=off,oracle=1")
    assert (spec.name, spec.oracle) == ("telea", True)
    assert spec.options == {"radius": 3, "dilate": 6, "side_effects": "off"}
    assert spec.label == "telea:radius=3,dilate=6,side_effects=off,oracle=1"


def test_engine_spec_errors_name_the_valid_options():
    with pytest.raises(InputError, match="valid options: .*radius"):
        parse_engine_spec("telea:bogus=1")
    with pytest.raises(InputError, match="not a valid int"):
        parse_engine_spec("telea:radius=big")
    with pytest.raises(InputError, match="choose one of"):
        parse_engine_spec("nosuchengine")
    with pytest.raises(InputError, match="use auto or off"):
        parse_engine_spec("telea:side_effects=maybe")


def test_engine_spec_list_keeps_options_with_their_engine():
    specs = parse_engine_specs("telea:radius=3,dilate=2,median,input,telea:oracle=1")
    assert [s.label for s in specs] == ["telea:radius=3,dilate=2", "median", "input", "telea:oracle=1"]
    with pytest.raises(InputError, match="twice"):
        parse_engine_specs("telea,telea")


def test_default_engines_are_the_installed_ones():
    labels = [s.label for s in parse_engine_specs(None)]
    assert {"telea", "median", "input"} <= set(labels)
    assert labels == [n for n in ("propagate", "telea", "median", "input") if n in labels]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    sources = synth_sources(2, seed=1, categories=("common", "shadow"), **TINY)
    specs = parse_engine_specs("telea,input,telea:oracle=1")
    results = run_benchmark(sources, specs, out, settings={"dataset": "tiny"})
    return out, results


def test_runner_writes_every_output(small_run):
    out, results = small_run
    for name in ("results.json", "report.md", "plot_psnr.png", "plot_quality_vs_speed.png",
                 "grids/000_common.png", "grids/001_shadow.png"):
        assert (out / name).is_file(), name
    on_disk = json.loads((out / "results.json").read_text())
    assert len(on_disk["runs"]) == 6 and on_disk["summary"]["by_category"].keys() == {"common", "shadow"}
    grid = cv2.imread(str(out / "grids/001_shadow.png"))
    assert grid.shape[0] > 48 * 3  # a row per engine under the input/ground-truth row


def test_runner_scores_match_metrics_on_the_same_clip(small_run):
    _, results = small_run
    clip = generate_clip(2, "shadow", **TINY)  # clip 1: seed 1 + 1
    run = next(r for r in results["runs"] if r["engine"] == "input" and r["category"] == "shadow")
    assert run["metrics"]["psnr_object"] == pytest.approx(metrics.psnr(clip.input, clip.gt, clip.object))
    assert run["metrics"]["psnr_side"] == pytest.approx(metrics.psnr(clip.input, clip.gt, clip.side))
    assert run["frames"] == 4 and run["seconds"] > 0 and run["peak_rss_mb"] > 0


def test_runner_records_the_ground_truths_own_warping_error(small_run):
    out, results = small_run
    clip = generate_clip(2, "shadow", **TINY)
    own = results["clips"][1]["gt_ewarp"]
    flows = metrics.reference_flows(clip.gt)
    assert own["ewarp"] == pytest.approx(metrics.warp_error(clip.gt, flows))
    assert own["ewarp_hole"] == pytest.approx(metrics.warp_error(clip.gt, flows, clip.object | clip.side))
    assert "Ground truth's own Ewarp" in (out / "report.md").read_text()


def test_oracle_mask_lets_the_engine_touch_the_side_effect():
    from cleanplate.bench.runner import run_engine_on_clip
    from cleanplate.bench.specs import parse_engine_spec
    from cleanplate.quadmask import dilate_mask

    clip = synth_sources(1, seed=2, categories=("shadow",), size=(96, 64), frames=4)[0].load()
    beyond = clip.side & ~np.stack([dilate_mask(o, 6) for o in clip.object])  # shadow the object mask can't reach
    assert beyond.sum() > 50
    plain, _ = run_engine_on_clip(clip, parse_engine_spec("telea"))
    oracle, _ = run_engine_on_clip(clip, parse_engine_spec("telea:oracle=1"))
    assert np.array_equal(plain[beyond], clip.input[beyond])  # the object-only mask leaves the shadow as it was
    changed = np.abs(oracle.astype(int) - clip.input.astype(int)).max(-1)[beyond] > 0
    assert changed.mean() > 0.9  # the oracle quadmask hands the shadow to the engine


def test_report_shows_unavailable_metrics_as_na(small_run):
    out, results = small_run
    assert results["summary"]["overall"]["telea"]["lpips"] is None
    assert results["sets"]["telea"]["vfid"] is None
    report = (out / "report.md").read_text()
    assert "| `telea` |" in report and "n/a" in report
    assert "## shadow (1 clip)" in report
    assert cell(None, "{:.2f}") == "n/a" and cell(1.234, "{:.2f}") == "1.23"


def test_existing_results_are_not_overwritten(small_run):
    out, _ = small_run
    with pytest.raises(OutputError, match="already exists"):
        run_benchmark(synth_sources(1, **TINY), parse_engine_specs("input"), out)


@register
class _Broken(Engine):
    name = "bench-test-broken"

    def fill(self, clip, progress=None):
        raise RuntimeError("boom")


def test_a_failing_engine_is_recorded_and_the_rest_still_run(tmp_path):
    results = run_benchmark(synth_sources(1, **TINY), parse_engine_specs("bench-test-broken,input"), tmp_path,
                            grids=False, plots=False)
    broken, fine = results["runs"]
    assert "boom" in broken["error"] and broken["metrics"]["psnr"] is None
    assert fine["error"] is None and fine["metrics"]["psnr"] is not None
    assert "Failures" in (tmp_path / "report.md").read_text()


# -- loaders ------------------------------------------------------------------------------------
def _write_frames(folder: Path, frames: np.ndarray, suffix: str = ".png") -> None:
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        image = f if f.ndim == 3 else np.repeat(f[..., None], 3, axis=2)
        cv2.imwrite(str(folder / f"{i:05d}{suffix}"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def test_synth_layout_round_trips(tmp_path):
    write_dataset(tmp_path, clips=2, seed=0, **TINY)
    sources = open_dataset(tmp_path)
    assert [(s.name, s.category) for s in sources] == [("000_common", "common"), ("001_shadow", "shadow")]
    clip = sources[1].load()
    ref = generate_clip(1, "shadow", **TINY)
    assert np.array_equal(clip.input, ref.input) and np.array_equal(clip.gt, ref.gt)
    assert np.array_equal(clip.object, ref.object) and np.array_equal(clip.side, ref.side)
    assert open_dataset(tmp_path / "001_shadow")[0].name == "001_shadow"


def test_rose_style_layout(tmp_path):
    ref = generate_clip(0, "shadow", **TINY)
    group = tmp_path / "Shadow"
    _write_frames(group / "Env1_Unedited" / "clip1", ref.input)
    _write_frames(group / "Env1_Masked" / "clip1", ref.object.astype(np.uint8) * 255)
    _write_frames(group / "Env1_Edited" / "clip1", ref.gt)
    sources = open_dataset(tmp_path)
    assert [(s.name, s.category) for s in sources] == [("shadow/clip1", "shadow")]
    clip = sources[0].load()
    assert np.array_equal(clip.input, ref.input) and np.array_equal(clip.gt, ref.gt)
    assert np.array_equal(clip.object, ref.object)
    # The side effect is estimated from the pair: it lies where the ground truth differs, off the object.
    assert clip.side.any() and not (clip.side & clip.object).any()
    assert not (clip.side & ~ref.side).any()  # never more than what changed
    assert clip.side.sum() >= 0.5 * ref.side.sum()  # and most of it (soft shadow edges fall below the threshold)


def test_rose_style_layout_with_a_missing_ground_truth_is_named(tmp_path):
    ref = generate_clip(0, "common", **TINY)
    _write_frames(tmp_path / "videos" / "a", ref.input)
    _write_frames(tmp_path / "masks" / "a", ref.object.astype(np.uint8) * 255)
    (tmp_path / "gt").mkdir()
    with pytest.raises(InputError, match="no matching mask or ground truth"):
        open_dataset(tmp_path)


def test_davis_style_layout_scores_without_ground_truth(tmp_path):
    ref = generate_clip(0, "common", **TINY)
    _write_frames(tmp_path / "JPEGImages" / "480p" / "bear", ref.input, ".jpg")
    ann = tmp_path / "Annotations" / "480p" / "bear"
    ann.mkdir(parents=True)
    for i, m in enumerate(ref.object):
        cv2.imwrite(str(ann / f"{i:05d}.png"), m.astype(np.uint8) * 38)  # a palette-like dark label
    sources = open_dataset(tmp_path)
    clip = sources[0].load()
    assert clip.gt is None and clip.category == "davis"
    assert np.array_equal(clip.object, ref.object)
    results = run_benchmark(sources, parse_engine_specs("input"), tmp_path / "out", plots=False)
    scores = results["runs"][0]["metrics"]
    assert scores["psnr"] is None and scores["psnr_keep"] == metrics.PSNR_CAP  # input kept as it was


def test_unknown_layout_is_refused(tmp_path):
    (tmp_path / "stuff").mkdir()
    with pytest.raises(InputError, match="no clips in a layout"):
        open_dataset(tmp_path)


def test_estimated_side_mask_ignores_small_noise():
    rng = np.random.default_rng(0)
    frames = rng.integers(50, 200, (1, 32, 32, 3)).astype(np.uint8)
    gt = np.clip(frames.astype(int) + rng.integers(-3, 4, frames.shape), 0, 255).astype(np.uint8)
    gt[0, 20:30, 20:30] = np.clip(gt[0, 20:30, 20:30].astype(int) + 60, 0, 255)
    obj = np.zeros((1, 32, 32), bool)
    side = estimate_side_mask(frames, gt, obj)
    assert side[0, 22:28, 22:28].all() and not side[0, :15, :15].any()


# -- speed sweep ----------------------------------------------------------------------------------
def test_speed_source_streams_a_looping_clip(tmp_path):
    from cleanplate.bench import speed
    from cleanplate.io import open_video

    video, mask, frames = speed.make_source(tmp_path, (64, 48), seconds=3)
    assert frames == 2 * speed.CYCLE  # rounded up to whole cycles
    decoded = list(open_video(video))
    assert len(decoded) == frames and open_video(mask).info.num_frames == frames
    assert np.array_equal(decoded[0], decoded[speed.CYCLE])


def test_speed_sweep_reports_fps_and_the_ratio_to_telea(tmp_path, monkeypatch):
    from cleanplate.bench import speed

    monkeypatch.setitem(speed.RESOLUTIONS, "tiny", (64, 48))
    results = speed.run_speed(parse_engine_specs("input"), tmp_path, ["tiny"], [2.0], plots=False)
    rows = {r["engine"]: r for r in results["runs"]}
    assert set(rows) == {"input", "telea"}  # telea always runs as the reference
    assert rows["telea"]["ratio_to_telea"] == 1.0
    assert rows["input"]["fps"] > 0 and rows["input"]["peak_rss_mb"] > 0 and rows["input"]["frames"] == speed.CYCLE
    assert (tmp_path / "speed.md").is_file() and (tmp_path / "speed.json").is_file()
    with pytest.raises(InputError, match="unknown resolution"):
        speed.parse_resolutions("4k")


def test_speed_sweep_repeats_jobs_in_rounds_and_reports_the_median(tmp_path, monkeypatch):
    from cleanplate.bench import speed

    monkeypatch.setitem(speed.RESOLUTIONS, "tiny", (64, 48))
    order = []
    times = iter([3.0, 1.0, 5.0, 2.0, 4.0, 3.0])  # input, telea, input, telea, input, telea

    def fake_job(video, mask, output, spec, timeout=None):
        order.append(spec.label)
        return {"seconds": next(times), "cpu_seconds": 1.0, "peak_rss_mb": 10.0 + len(order), "rss_before_mb": 5.0}

    monkeypatch.setattr(speed, "run_job", fake_job)
    results = speed.run_speed(parse_engine_specs("input"), tmp_path, ["tiny"], [2.0], plots=False, repeat=3)
    assert order == ["input", "telea"] * 3  # rounds, not one engine's runs back to back
    rows = {r["engine"]: r for r in results["runs"]}
    assert rows["input"]["seconds"] == 4.0 and (rows["input"]["seconds_min"], rows["input"]["seconds_max"]) == (3.0, 5.0)
    assert rows["telea"]["seconds"] == 2.0 and rows["input"]["peak_rss_mb"] == 15.0  # the largest of its runs
    assert rows["input"]["time_vs_first"] == 1.0 and rows["telea"]["time_vs_first"] == 0.5
    assert rows["input"]["fps"] == speed.CYCLE / 4.0
    report = (tmp_path / "speed.md").read_text()
    assert "ran 3 times" in report and "3.0–5.0" in report
    with pytest.raises(InputError, match="at least 1"):
        speed.run_speed(parse_engine_specs("input"), tmp_path, ["tiny"], [2.0], plots=False, repeat=0)


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_synth_and_bench(tmp_path):
    from cleanplate.cli import main

    assert main(["synth", str(tmp_path / "d"), "--clips", "1", "--size", "48x32", "--frames", "3",
                 "--no-progress"]) == 0
    assert (tmp_path / "d" / "000_common" / "meta.json").is_file()
    assert main(["bench", "--data", str(tmp_path / "d"), "-e", "input", "--out", str(tmp_path / "o"),
                 "--no-progress", "--no-plots"]) == 0
    assert (tmp_path / "o" / "report.md").is_file()
    assert main(["bench", "--synth", "1", "--data", str(tmp_path / "d")]) == 2  # one or the other
    assert main(["synth", str(tmp_path / "e"), "--categories", "smoke"]) == 2


def test_runner_reports_lpips_given_local_weights(tmp_path):
    torch = pytest.importorskip("torch")
    from cleanplate.bench.lpips import build_network

    torch.manual_seed(0)
    state = {k: (v.abs() if k.startswith("lin") else v) for k, v in build_network().state_dict().items()}
    torch.save(state, tmp_path / "lpips.pth")
    results = run_benchmark(synth_sources(1, seed=0, size=(32, 32), frames=3), parse_engine_specs("telea,input"),
                            tmp_path / "out", lpips_weights=str(tmp_path / "lpips.pth"), grids=False, plots=False)
    assert all(r["metrics"]["lpips"] > 0 for r in results["runs"])
    mean = results["summary"]["overall"]["telea"]["lpips"]
    assert f"{mean:.4f}" in (tmp_path / "out" / "report.md").read_text()


def test_runner_computes_vfid_over_the_set_of_clips(tmp_path, monkeypatch):
    from cleanplate.bench import vfid

    # A stand-in feature extractor (the I3D network itself is tested in test_metrics): mean colour.
    monkeypatch.setattr(vfid, "load_i3d", lambda path: (lambda clip: clip.reshape(-1, 3).mean(0)) if path else None)
    sources = synth_sources(3, seed=0, size=(32, 32), frames=3)
    results = run_benchmark(sources, parse_engine_specs("input"), tmp_path, i3d_weights="given", grids=False, plots=False)
    clips = [s.load() for s in sources]
    expected = vfid.frechet_distance(np.stack([c.input.reshape(-1, 3).mean(0) for c in clips]),
                                     np.stack([c.gt.reshape(-1, 3).mean(0) for c in clips]))
    assert results["sets"]["input"]["vfid"] == pytest.approx(expected)


def test_speed_sweep_runs_the_unrequested_reference_only_at_the_shortest_length(tmp_path, monkeypatch):
    from cleanplate.bench import speed

    monkeypatch.setitem(speed.RESOLUTIONS, "tiny", (64, 48))
    results = speed.run_speed(parse_engine_specs("input"), tmp_path, ["tiny"], [2.0, 4.0], plots=False)
    telea = [r for r in results["runs"] if r["engine"] == "telea"]
    inputs = sorted((r for r in results["runs"] if r["engine"] == "input"), key=lambda r: r["frames"])
    assert [r["frames"] for r in telea] == [inputs[0]["frames"]]
    assert inputs[1]["ratio_to_telea"] == pytest.approx(inputs[1]["fps"] / telea[0]["fps"])
