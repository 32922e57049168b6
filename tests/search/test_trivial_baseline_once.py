"""One trivial baseline per study: computed once, quoted by the run summary and the report alike,
with the best trial placed above, within or below its interval."""

from __future__ import annotations

import pytest

from conftest import TINY_SPACE
from mammosearch.config import parse_space
from mammosearch.data import load_image_set
from mammosearch.report import build_report
from mammosearch.search.study import _trivial_baseline
from mammosearch.store import load_study
from mammosearch.store.record import StudyContext

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

VERDICTS = ("is above the baseline's 95% CI", "is within the baseline's 95% CI", "is below the baseline's 95% CI")


def test_a_resumed_study_keeps_the_baseline_it_recorded_and_new_data_gets_its_own(tmp_path):
    space = parse_space(TINY_SPACE, str(tmp_path / "tiny.yaml"), tmp_path)
    images = load_image_set(space.data, space.split)
    fresh = _trivial_baseline(space, images, StudyContext())
    assert fresh is not None and fresh["name"].startswith("trivial baseline") and fresh["evaluated_on"] == "the validation split"
    recorded = {**fresh, "auc": 0.123}  # a marker: recomputing would give fresh["auc"] again
    same = StudyContext(data_description=images.description, trivial_baseline=recorded)
    assert _trivial_baseline(space, images, same) == recorded
    other_data = StudyContext(data_description="another data set", trivial_baseline=recorded)
    assert _trivial_baseline(space, images, other_data) == fresh


def test_the_run_summary_and_the_report_quote_one_baseline_and_say_where_the_best_trial_stands(tiny_study, tmp_path):
    summary = tiny_study["summary"]
    report = build_report(load_study(tiny_study["storage"], "tiny"), tmp_path / "r", write_files=False)
    baseline = report.baselines[0]
    assert baseline["name"].startswith("trivial baseline")
    assert summary.baseline_verdict == report.baseline_verdict
    assert summary.baseline_verdict is not None and summary.baseline_verdict.startswith("validation AUC ")
    assert sum(verdict in summary.baseline_verdict for verdict in VERDICTS) == 1
    assert f"{baseline['auc']:.3f} (95% CI {baseline['ci95'][0]:.3f}-{baseline['ci95'][1]:.3f})" in summary.baseline_verdict
    assert summary.best_figures == tuple(report.best_figures) and summary.best_figures[0][0] == "validation AUC (the objective)"
