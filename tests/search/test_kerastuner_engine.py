"""KerasTuner as the second engine: same objective, trials written into the Optuna storage."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.config import parse_space
from mammosearch.report import build_report
from mammosearch.search import RunOptions, run_kerastuner
from mammosearch.search._kerastuner import apply_budget, declare_space
from mammosearch.store import load_study
from model_params import params_for

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("algorithm", ["random", "hyperband"])
def test_kerastuner_trials_land_in_the_optuna_storage_and_report_reads_them(tmp_path, algorithm):
    space = parse_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 2"))
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'kt.db'}", results_dir=tmp_path / "results")
    summary = run_kerastuner(space, options, algorithm)
    assert summary.study_name == f"tiny-kerastuner-{algorithm}" and summary.finished_trials == 2
    record = load_study(options.storage_url, summary.study_name)
    assert [r.state for r in record.rows] == ["complete", "complete"]
    for row in record.rows:
        assert row.value == pytest.approx(row.val_metrics.auc) and row.params["family"] == "cnn"
    study = optuna.load_study(study_name=summary.study_name, storage=options.storage_url)
    assert all(t.user_attrs["engine"] == f"kerastuner/{algorithm}" for t in study.trials)
    assert {"cnn_filters", "learning_rate"} <= set(study.trials[0].params)  # real Optuna params
    report = build_report(record, options.results_dir, top_k=5)
    assert len(report.leaderboard) == 2 and report.best is not None and report.best.model_path is not None


def test_declare_space_registers_every_branch():
    import keras_tuner as kt

    space = parse_space("model: {families: [cnn, vgg16], heads: [dense_bn_dropout, gap_dropout]}\ntraining: {fine_tune: [false, true]}")
    hp = kt.HyperParameters()
    declare_space(hp, space)
    names = {p.name for p in hp.space}
    assert {"family", "cnn_filters", "head", "head_dense_units", "fine_tune", "unfrozen_layers", "fine_tune_learning_rate"} <= names


def test_hyperband_budget_splits_epochs_between_phases():
    class Trial:
        budget = 3

    tuned = params_for("vgg16", epochs=4, fine_tune=True, unfrozen_layers=2, fine_tune_learning_rate=1e-5, fine_tune_epochs=2)
    budgeted = apply_budget(tuned, Trial())
    assert budgeted.total_epochs == 3 and budgeted.epochs == 2 and budgeted.fine_tune_epochs == 1
    Trial.budget = 1
    assert apply_budget(tuned, Trial()).fine_tune is False
    Trial.budget = 10
    assert apply_budget(tuned, Trial()) == tuned
    assert apply_budget(dataclasses.replace(tuned, fine_tune=False), type("T", (), {"budget": 2})()).epochs == 2


def test_hyperband_keeps_iterating_until_the_trial_budget_is_spent(tmp_path):
    # With one epoch a Hyperband iteration is a single trial: without more iterations the
    # search would stop long before n_trials.
    space = parse_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 4"), overrides=["training.epochs=1"])
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'kt.db'}", results_dir=tmp_path / "results")
    summary = run_kerastuner(space, options, "hyperband")
    assert summary.finished_trials == 4
