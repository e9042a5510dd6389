"""The evaluation tables: which engines run, and how their benchmark means become tables."""

import pytest

from cleanplate.errors import InputError
from cleanplate.train.evaluate import engine_rows, render_tables


def test_rows_compare_the_model_with_its_initialisation_propagate_and_the_prior_mode():
    rows = engine_rows("M", "U", {"baseline": "A", "+OIRD": "B"}, steps=10, strength=0.5)
    assert [(t, label) for t, label, _ in rows] == [
        ("main", "untrained initialisation"), ("main", "shipped model"), ("main", "propagate"),
        ("main", "propagate + shipped model (s=0.5)"), ("ablation", "baseline"), ("ablation", "+OIRD")]
    specs = dict((label, spec) for _, label, spec in rows)
    assert specs["propagate"] == "propagate:oracle=1"
    assert specs["propagate + shipped model (s=0.5)"] == \
        "diffusion:oracle=1,steps=10,model=M,prior=propagate,strength=0.5"
    assert specs["+OIRD"] == "diffusion:oracle=1,steps=10,model=B"  # ablation rows: no prior


def test_tables_show_the_benchmark_means_and_say_n_a_or_failed():
    rows = engine_rows("M", None, {"baseline": "A"}, steps=10, strength=0.6)
    entry = {"psnr_object": 21.234, "psnr_side": None, "psnr": 30.0, "ssim_hole": 0.51234, "seconds_per_clip": 12.34}
    results = {"summary": {"overall": {"shipped model": entry, "propagate": entry},
                           "by_category": {"shadow": {"propagate": {"psnr": 29.5}}}}}
    text = render_tables(results, rows, {"dataset": "2 clips"})
    assert "| shipped model | 21.23 | n/a | 30.00 | 0.512 | 12.3 |" in text
    assert "| baseline | failed | failed | failed | failed | failed |" in text  # no entry: every run failed
    assert "| shadow | n/a | 29.50 | n/a |" in text  # by category: shipped, propagate, prior mode
    assert "untrained" not in text


def test_evaluate_refuses_folders_that_are_not_models(tmp_path):
    pytest.importorskip("cleanplate.bench.runner")
    from cleanplate.train.evaluate import evaluate

    with pytest.raises(InputError, match="not a model folder"):
        evaluate(str(tmp_path), tmp_path / "out", clips=1)
