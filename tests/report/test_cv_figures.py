"""Under cross-validation every AUC is shown with its own interval and its own name.

A CV trial has a mean fold AUC (the objective, 0.664 here) and a pooled out-of-fold AUC
(0.566) whose patient-bootstrap interval (0.457-0.671) the trial stores. The report used to
print the mean beside the pooled interval; these tests write such a trial into a real SQLite
study and read the CSV, report.json, the terminal view, the HTML page and the model card.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import optuna
import pytest
from rich.console import Console

from mammosearch.apply.card import model_card_markdown
from mammosearch.metrics import ABOVE, BELOW, WITHIN, baseline_verdict, evaluate_predictions, fold_spread, patient_auc_ci, position, selection_figures
from mammosearch.report import build_report
from mammosearch.report.html import render_html
from mammosearch.report.terminal import print_report
from mammosearch.spec import SplitMetrics, TrialOutcome
from mammosearch.store import load_study, record

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

FOLDS = [0.61, 0.70, 0.682]  # mean 0.664
LR = optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
BASELINE = {"name": "trivial baseline (intensity histogram)", "auc": 0.42, "ci95": [0.30, 0.50], "fold_aucs": [0.5, 0.55, 0.51],
            "evaluated_on": "pooled out-of-fold predictions"}


def _pooled_metrics(seed: int, shift: float) -> dict:
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], 30)
    scores = 1 / (1 + np.exp(-(rng.normal(0, 1, 60) + shift * labels)))
    metrics = evaluate_predictions(labels, scores)
    metrics["auc_ci95"] = patient_auc_ci(labels, scores, np.arange(60))
    return metrics


@pytest.fixture
def cv_study(tmp_path):
    """Two complete CV trials; the best one has mean fold AUC 0.664 and a different pooled AUC."""
    storage = f"sqlite:///{tmp_path / 'cv.db'}"
    study = optuna.create_study(storage=storage, study_name="cv", direction="maximize")
    fingerprint = {"photometry": {"policy": "auto", "flipped": 0, "looks_inverted": 0, "undetermined": 0, "tag_inverted": 0, "table": []}}
    record.save_context(study, record.StudyContext(
        data_description="synthetic phantoms, 60 images", decode_recipe="decode: PNG with Pillow", fingerprint=fingerprint,
        trivial_baseline=BASELINE, photometry="as_is",
    ))
    for number, (folds, shift) in enumerate([(FOLDS, -0.2), ([0.55, 0.6, 0.58], 0.2)]):
        val = _pooled_metrics(number, shift)
        val.update(fold_aucs=folds, mean_fold_auc=float(np.mean(folds)), pooled="out-of-fold predictions of all folds")
        attrs = record.to_user_attrs(TrialOutcome(val_metrics=SplitMetrics.from_record(val), best_epoch=1, epochs_trained=1, step_unit="fold"))
        attrs["params"] = {"family": "cnn", "learning_rate": 1e-3 * (number + 1)}
        study.add_trial(optuna.trial.create_trial(
            value=float(np.mean(folds)), params={"learning_rate": 1e-3 * (number + 1)}, distributions={"learning_rate": LR}, user_attrs=attrs,
        ))
    return storage


def _pooled(storage: str) -> tuple[float, str]:
    """The best trial's pooled out-of-fold AUC and its stored interval as the report writes it."""
    metrics = load_study(storage, "cv").ranked()[0].val_metrics
    assert metrics is not None and metrics.auc is not None and metrics.auc_ci95 is not None
    low, high = metrics.auc_ci95
    return metrics.auc, f"{low:.3f}-{high:.3f}"


def test_the_csv_and_json_keep_each_auc_with_its_own_interval(cv_study, tmp_path):
    pooled, ci = _pooled(cv_study)
    assert abs(pooled - 0.664) > 0.03  # the two figures really differ
    report = build_report(load_study(cv_study, "cv"), tmp_path / "r")
    with open(tmp_path / "r" / "cv" / "report" / "leaderboard.csv", newline="") as handle:
        best = next(csv.DictReader(handle))
    assert float(best["val_auc"]) == pytest.approx(0.664) and best["val_auc_ci_low"] == "" and best["val_auc_ci_high"] == ""
    assert float(best["fold_auc_sd"]) == pytest.approx(fold_spread(FOLDS)[1])  # type: ignore[index]
    assert float(best["pooled_oof_auc"]) == pytest.approx(pooled)
    assert f"{float(best['pooled_oof_auc_ci_low']):.3f}-{float(best['pooled_oof_auc_ci_high']):.3f}" == ci
    assert best["scored_on"] == "pooled out-of-fold"
    figures = {f["name"]: f["figure"] for f in json.loads((tmp_path / "r" / "cv" / "report" / "report.json").read_text())["best_trial_figures"]}
    assert figures == dict(report.best_figures)
    assert figures["mean fold AUC (the objective)"].startswith("0.664 ± ") and "SD over 3 folds" in figures["mean fold AUC (the objective)"]
    assert figures["pooled out-of-fold AUC"] == f"{pooled:.3f} (95% CI {ci})"


def test_the_terminal_shows_the_pooled_interval_beside_the_pooled_auc_only(cv_study, tmp_path):
    console = Console(width=250, record=True, color_system=None)
    print_report(console, build_report(load_study(cv_study, "cv"), tmp_path / "r"))
    text = console.export_text()
    pooled, ci = _pooled(cv_study)
    row = next(line for line in text.splitlines() if " 0.664 " in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[cells.index("0.664") + 2 : cells.index("0.664") + 4] == [f"{pooled:.3f}", ci]  # mean, SD, pooled, pooled CI
    assert f"0.664 ({ci}" not in text and "0.664 (95% CI" not in text
    assert f"pooled out-of-fold AUC {pooled:.3f} (95% CI {ci})" in text
    assert "confusion matrix at 0.5 on the pooled out-of-fold predictions" in text
    assert "against the trivial baseline" in text and "above the baseline's 95% CI" in text


def test_the_html_names_each_figure_and_never_calls_pooled_results_validation(cv_study, tmp_path):
    study_record = load_study(cv_study, "cv")
    report = build_report(study_record, tmp_path / "r")
    page = render_html(study_record, report)
    pooled, ci = _pooled(cv_study)
    assert f"0.664 ({ci})" not in page and "0.664 (95% CI" not in page
    assert f"{pooled:.3f} (95% CI {ci})" in page
    assert "best trial 0&#x27;s mean fold AUC (the objective)" in page and "best trial 0&#x27;s validation AUC" not in page
    assert "Youden&#x27;s J on the pooled out-of-fold predictions" in page
    assert "Pooled out-of-fold ROC of the top trials" in page and "Validation ROC" not in page
    assert "Best trial, pooled out-of-fold, threshold 0.5" in page
    assert "<td>validation</td>" not in page  # the model-card facts' metrics table names the pooled predictions
    assert report.plot_captions["history.png"] == "Optimization history (mean fold AUC)"


def test_a_single_split_keeps_calling_its_figure_the_validation_auc():
    metrics = SplitMetrics(auc=0.7, auc_ci95=(0.6, 0.8))
    assert selection_figures(metrics, 0.7) == [("validation AUC (the objective)", "0.700 (95% CI 0.600-0.800)")]


def test_the_best_trial_is_placed_above_within_or_below_the_baselines_interval():
    assert position(0.71, [0.5, 0.7]) == ABOVE and position(0.6, [0.5, 0.7]) == WITHIN and position(0.45, [0.5, 0.7]) == BELOW
    assert position(0.7, [0.5, 0.7]) == WITHIN  # the edge is still inside
    assert position(None, [0.5, 0.7]) is None and position(0.6, None) is None
    with pytest.raises(ValueError, match="low <= high"):
        position(0.6, [0.7, 0.5])
    within = baseline_verdict(SplitMetrics(auc=0.6, auc_ci95=(0.5, 0.7)), {"name": "trivial baseline (x)", "auc": 0.58, "ci95": [0.48, 0.68]})
    assert within == ("validation AUC 0.600 (95% CI 0.500-0.700) is within the baseline's 95% CI: not shown to beat it "
                      "(trivial baseline (x): 0.580 (95% CI 0.480-0.680))")
    assert baseline_verdict(SplitMetrics(auc=0.6), None) is None


def test_the_model_card_says_the_photometry_the_study_asked_for_and_decode_once(cv_study, tmp_path):
    import keras

    from mammosearch.apply.card import model_card

    study_record = load_study(cv_study, "cv")
    inputs = keras.Input((8, 8, 1))
    card = model_card(study_record, study_record.ranked()[0], keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs))))
    assert card["input"]["photometry"] == "as_is" and card["input"]["photometry_requested"] == "auto"
    assert card["objective"]["name"] == "mean fold ROC AUC (cross-validation)"
    text = model_card_markdown(card)
    assert "decode: decode:" not in text and "- decode: PNG with Pillow" in text
    assert "- photometry: `as_is` (images are used as decoded, never flipped); the study asked for `auto`" in text
    assert "| pooled out-of-fold (selected on) |" in text and "validation (selected on)" not in text
    assert any(f"pooled out-of-fold AUC's 95% CI is {_pooled(cv_study)[1]}" in note for note in card["limitations"])
    assert card["baseline"]["auc"] == BASELINE["auc"] and "is above the baseline's 95% CI" in card["baseline"]["verdict"]
    assert "Against the study's trivial baseline: pooled out-of-fold AUC" in text
