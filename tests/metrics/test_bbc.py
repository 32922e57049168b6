"""BBC-CV: selecting the best of many noisy configurations is optimistic; the bootstrap corrects it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.metrics import bbc_cv, evaluate_predictions
from mammosearch.store import load_study

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def test_among_pure_noise_the_estimate_falls_back_to_chance_while_the_best_looks_good():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 120)
    groups = np.arange(120) // 2
    scores = rng.random((50, 120))
    apparent = max(evaluate_predictions(labels, s)["auc"] for s in scores)
    estimate = bbc_cv(scores, labels, groups, n_boot=500)
    assert estimate is not None and apparent > 0.58
    assert estimate.auc < apparent - 0.05 and estimate.ci95[0] < 0.5 < estimate.ci95[1]


def test_a_real_signal_is_chosen_and_estimated_near_its_true_auc():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 150)
    scores = rng.random((20, 150))
    scores[7] = labels + rng.normal(0, 0.8, 150)
    estimate = bbc_cv(scores, labels, np.arange(150), n_boot=500)
    true_auc = evaluate_predictions(labels, scores[7])["auc"]
    assert estimate is not None and estimate.most_chosen == 7 and estimate.most_chosen_share > 0.9
    assert abs(estimate.auc - true_auc) < 0.05


def test_bbc_refuses_mismatched_inputs_and_needs_two_configurations():
    with pytest.raises(ValueError, match="configurations, samples"):
        bbc_cv(np.zeros((3, 5)), np.zeros(4), np.zeros(4))
    assert bbc_cv(np.zeros((1, 4)), np.array([0, 1, 0, 1]), np.arange(4)) is None


def test_report_under_cross_validation_gives_the_bbc_estimate_and_the_honest_test_figure(tmp_path):
    space = tmp_path / "cv.yaml"
    space.write_text(
        "study: {name: cv, n_trials: 3, sampler: random, pruner: none}\n"
        "data: {source: synthetic, n_images: 72, image_size: 32, difficulty: 0.3, split: {validation: 0.2, test: 0.2}}\n"
        "model: {families: [cnn], cnn: {filters: [4, 8], dense_units: 8}}\ntraining: {epochs: 1}\nevaluation: {cv_folds: 3}\n"
    )
    storage = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    ran = runner.invoke(app, ["run", "--space", str(space), "--storage", storage, "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "250"})
    assert ran.exit_code == 0, ran.output
    result = runner.invoke(app, ["report", "--storage", storage, "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "BBC-CV estimate of the selected configuration" in result.output and "honest figure" in result.output
    payload = json.loads((tmp_path / "r" / "cv" / "report" / "report.json").read_text())
    assert payload["bbc_cv"]["trials"] == 3 and 0.0 <= payload["bbc_cv"]["auc"] <= 1.0
    assert payload["selected_trial_test"]["trial"] == payload["best_trial"]
    # Each figure beside its own interval: the mean fold AUC with its folds' spread, the
    # pooled out-of-fold AUC with the bootstrap interval the trial stored for it.
    best = next(row for row in payload["leaderboard"] if row["trial"] == payload["best_trial"])
    stored = load_study(storage, "cv").ranked()[0].val_metrics.to_record()
    assert best["val_auc"] == pytest.approx(np.mean(stored["fold_aucs"])) and best["val_auc_ci_low"] is None
    assert best["pooled_oof_auc"] == stored["auc"] and [best["pooled_oof_auc_ci_low"], best["pooled_oof_auc_ci_high"]] == stored["auc_ci95"]
    low, high = stored["auc_ci95"]
    figures = {f["name"]: f["figure"] for f in payload["best_trial_figures"]}
    assert figures["pooled out-of-fold AUC"] == f"{stored['auc']:.3f} (95% CI {low:.3f}-{high:.3f})"
    assert figures["mean fold AUC (the objective)"].startswith(f"{np.mean(stored['fold_aucs']):.3f} ± ")
    # The run summary names both figures and says where the best trial stands against the one baseline.
    summary = " ".join(ran.output.split())
    assert f"pooled out-of-fold AUC {stored['auc']:.3f} (95% CI {low:.3f}-{high:.3f})" in summary and "mean fold AUC (the objective)" in summary
    assert payload["baseline_verdict"] is not None and "against the trivial baseline: pooled out-of-fold AUC" in summary
    assert any(verdict in summary for verdict in ("is above the baseline's 95% CI", "is within the baseline's 95% CI", "is below the baseline's 95% CI"))
