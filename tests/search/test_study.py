"""The study driver end to end on a real SQLite storage with real (tiny) Keras trainings."""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.config import parse_space, with_overrides
from mammosearch.errors import DataError, StorageError
from mammosearch.search import RunOptions, make_pruner, run_study
from mammosearch.search.samplers import max_epochs
from mammosearch.spec import RATES
from mammosearch.store import load_study

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def test_a_study_records_every_metric_with_each_trial(tiny_study):
    record = load_study(tiny_study["storage"], "tiny")
    assert [r.state for r in record.rows] == ["complete"] * 3
    for row in record.rows:
        v = row.val_metrics
        assert v is not None and v.at_05 is not None and v.at_youden is not None and v.roc is not None and v.auc is not None
        assert row.value == pytest.approx(v.auc)  # the objective is the reported val AUC
        for rate in RATES:
            assert v.at_05[rate] is not None and v.at_youden[rate] is not None, rate.key
        assert v.at_05.confusion is not None and v.at_youden.confusion is not None
        assert v.at_05.confusion.total == v.n
        assert v.roc.fpr[0] == 0.0 and v.roc.tpr[-1] == 1.0
        assert v.auc_ci95 is not None
        low, high = v.auc_ci95
        assert low <= v.auc <= high
        assert 1 <= row.best_epoch <= row.epochs_trained == 2
        assert set(row.intermediate) == {0, 1}
        # Each epoch's val_auc is the exact AUC of that epoch's predictions, and the best
        # epoch's weights are the ones restored: the study's value is that epoch's AUC.
        assert row.intermediate[row.best_epoch - 1] == pytest.approx(row.value, abs=1e-9)
        assert max(row.intermediate.values()) == pytest.approx(row.value, abs=1e-9)
        # The test split is evaluated with the validation threshold, never used to select.
        assert row.test_metrics is not None
        assert row.test_metrics.youden_threshold == v.youden_threshold
        assert row.test_metrics.threshold_source == "given"
        assert row.params["family"] == "cnn" and row.params["head"] is None


def test_only_the_top_k_trials_keep_their_model(tiny_study):
    record = load_study(tiny_study["storage"], "tiny")
    ranked = record.ranked()
    assert [r.model_path is not None for r in ranked] == [True, True, False]
    assert not any(r.model_missing for r in ranked)
    for row in ranked[:2]:
        assert (row.model_path.parent / "predictions.json").is_file()


def test_rerunning_resumes_until_n_trials(tiny_study, tmp_path):
    space = parse_space(TINY_SPACE, str(tiny_study["space_file"]))
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'resume.db'}", results_dir=tmp_path / "results")
    first = run_study(with_overrides(space, n_trials=2), options)
    assert (first.new_trials, first.finished_trials) == (2, 2)
    before = {r.number: r.value for r in load_study(options.storage_url, "tiny").rows}
    second = run_study(with_overrides(space, n_trials=3), options)
    assert (second.new_trials, second.finished_trials) == (1, 3)
    after = {r.number: r.value for r in load_study(options.storage_url, "tiny").rows}
    assert {n: after[n] for n in before} == before  # completed trials kept as they were
    third = run_study(with_overrides(space, n_trials=3), options)
    assert third.new_trials == 0


FAILING_SPACE = """
study: {name: failing, sampler: random, pruner: none, n_trials: 2, seed: 0}
data: {source: synthetic, n_images: 48, image_size: 32, split: {validation: 0.25}}
model: {families: [vgg16], heads: [gap_dropout], input_size: 32}
training:
  epochs: 1
  batch_size: 16
  fine_tune: true
  unfrozen_layers: 500
  fine_tune_epochs: 1
"""


def test_a_failing_trial_is_recorded_with_its_reason_and_the_study_goes_on(tmp_path):
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'f.db'}", results_dir=tmp_path / "results")
    summary = run_study(parse_space(FAILING_SPACE), options)
    assert summary.finished_trials == 2 and summary.best_number is None
    record = load_study(options.storage_url, "failing")
    assert [r.state for r in record.rows] == ["failed", "failed"]
    assert all("unfrozen_layers=500 but vgg16 has 18 layers" in r.fail_reason for r in record.rows)


def test_data_errors_stop_before_any_trial_and_leave_the_study_untouched(tmp_path, tiny_study):
    bad = parse_space(f"data: {{source: folder, root: {tmp_path / 'missing'}}}\nstudy: {{name: tiny}}")
    with pytest.raises(DataError, match="missing"):
        run_study(bad, RunOptions(storage_url=tiny_study["storage"], results_dir=tmp_path))
    assert len(load_study(tiny_study["storage"], "tiny").rows) == 3


def test_an_unusable_storage_url_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError, match=r"cannot open storage mysql\+nodriver://u:\*\*\*@h/db"):
        run_study(parse_space(TINY_SPACE), RunOptions(storage_url="mysql+nodriver://u:secret@h/db", results_dir=tmp_path))


def test_pruner_resources_follow_the_epoch_budget():
    space = parse_space("""
study: {pruner: hyperband}
model: {families: [cnn, vgg16]}
training: {epochs: [3, 5], fine_tune: [false, true], fine_tune_epochs: 4}
""")
    assert max_epochs(space) == 9
    pruner = make_pruner(space)
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    cnn_only = dataclasses.replace(space, model=dataclasses.replace(space.model, families=("cnn",)))
    assert max_epochs(cnn_only) == 5


def test_tensorboard_logs_hold_scalars_and_hyperparameters(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    space = with_overrides(parse_space(TINY_SPACE), n_trials=1)
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'tb.db'}", results_dir=tmp_path / "results", tensorboard=True)
    run_study(space, options)
    trial_dir = tmp_path / "results" / "tiny" / "tb" / "trial_00000"
    assert any(trial_dir.rglob("events.out.tfevents.*"))
    hparams_runs = [EventAccumulator(str(p.parent)).Reload() for p in trial_dir.glob("events.out.tfevents.*")]
    assert any("_hparams_/session_start_info" in acc.Tags().get("tensors", []) for acc in hparams_runs)
    validation = EventAccumulator(str(trial_dir / "validation")).Reload()
    assert any("auc" in tag for tag in validation.Tags().get("tensors", []) + validation.Tags().get("scalars", []))


CV_SPACE = TINY_SPACE.replace("study: {name: tiny", "evaluation: {cv_folds: 3}\nstudy: {name: tiny_cv").replace("n_trials: 3", "n_trials: 2")


def test_cross_validation_objective_is_the_mean_of_the_fold_aucs(tmp_path):
    import json

    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'cv.db'}", results_dir=tmp_path / "results")
    run_study(parse_space(CV_SPACE), options)
    record = load_study(options.storage_url, "tiny_cv")
    for row in record.rows:
        folds = row.val_metrics.fold_aucs
        assert len(folds) == 3
        assert row.value == pytest.approx(sum(folds) / 3)
        # One pruner step per fold, carrying the running mean.
        assert [row.intermediate[i] for i in range(3)] == pytest.approx([sum(folds[: i + 1]) / (i + 1) for i in range(3)])
    best = record.ranked()[0]
    saved = json.loads((best.model_path.parent / "predictions.json").read_text())
    oof = saved["out_of_fold"]
    # Out-of-fold predictions cover every non-test image exactly once; test is never in them.
    assert len(oof["indices"]) == len(set(oof["indices"])) == best.val_metrics.n
    assert not set(oof["indices"]) & set(saved["test"]["indices"])
