"""The terminal report's additions: test-split metrics, test plots, near-collapse flags,
hyper-parameter importances and the run stopped by its time limit."""

from __future__ import annotations

import json

import optuna
import pytest
from PIL import Image
from rich.console import Console
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.report import build_report
from mammosearch.report._importance import param_importances
from mammosearch.report.terminal import print_report
from mammosearch.spec import NEAR_COLLAPSE, SplitMetrics, near_collapsed
from mammosearch.store import load_study, record
from report_studies import NAME, make_study, split_metrics

# Builds studies or reads whole real data sets: left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def _text(storage: str, results, width: int = 200) -> str:
    console = Console(width=width, record=True, color_system=None)
    print_report(console, build_report(load_study(storage, NAME), results))
    return console.export_text()


def test_the_top_trials_show_their_test_auc_with_its_interval_and_the_test_threshold_metrics(tmp_path):
    storage = make_study(tmp_path)
    built = build_report(load_study(storage, NAME), tmp_path / "r")
    console = Console(width=200, record=True, color_system=None)
    print_report(console, built)
    text = console.export_text()
    table = text[text.index("Test split, top trials") :]
    best = built.leaderboard.iloc[0]
    # The best trial's test AUC and its interval, and its sensitivity at the validation-chosen threshold.
    assert f"{best['test_auc']:.3f} ({best['test_auc_ci_low']:.3f}-{best['test_auc_ci_high']:.3f})" in table
    assert f"{best['test_threshold']:.3f}" in table and f"{best['test_recall_youden']:.3f}" in table
    row = built.leaderboard.iloc[0]
    assert row["test_threshold"] == load_study(storage, NAME).ranked()[0].val_metrics.youden_threshold


def test_no_test_split_means_no_test_table_and_no_test_plots(tmp_path):
    storage = make_study(tmp_path, test_split=False)
    built = build_report(load_study(storage, NAME), tmp_path / "r")
    names = {p.name for p in built.files}
    assert "roc_top.png" in names and not {"roc_test_top.png", "confusion_best_test.png"} & names
    assert "Test split" not in _text(storage, tmp_path / "r")


def test_the_test_split_gets_its_own_roc_and_confusion_matrix(tmp_path):
    storage = make_study(tmp_path)
    built = build_report(load_study(storage, NAME), tmp_path / "r")
    written = {p.name: p for p in built.files}
    for name in ("roc_test_top.png", "confusion_best_test.png"):
        with Image.open(written[name]) as image:
            assert min(image.size) > 200, name
    # Not a copy of the validation figures.
    assert written["roc_test_top.png"].read_bytes() != written["roc_top.png"].read_bytes()


def test_near_collapse_is_a_rate_below_the_limit_at_the_youden_threshold():
    healthy = split_metrics(2.5, seed=0)
    assert near_collapsed(SplitMetrics.from_record(healthy)) is False and near_collapsed(None) is None
    for rate in ("recall", "specificity"):
        almost = {**healthy, "at_youden": {**healthy["at_youden"], rate: NEAR_COLLAPSE - 0.01}}
        assert near_collapsed(SplitMetrics.from_record(almost)) is True, rate
        at_limit = {**healthy, "at_youden": {**healthy["at_youden"], rate: NEAR_COLLAPSE}}
        assert near_collapsed(SplitMetrics.from_record(at_limit)) is False, rate


def test_a_near_collapsed_trial_is_marked_in_the_table_and_warned_about(tmp_path):
    storage = make_study(tmp_path)
    text = _text(storage, tmp_path / "r")
    board = text[text.index("Leaderboard") : text.index("Per family")]
    marked = [line for line in board.splitlines() if " 1! " in line]
    assert len(marked) == 1, board  # trial 1 only: its sensitivity at Youden is 0.05
    assert " 0! " not in board and " 2! " not in board
    assert "warning: trial 1 is near-collapsed on the validation split" in text and "sensitivity 0.05" in text
    assert "trial 0 is near-collapsed" not in text


def test_importances_are_a_table_and_a_plot_over_the_varying_parameters(tmp_path):
    storage = make_study(tmp_path, complete=4)
    built = build_report(load_study(storage, NAME), tmp_path / "r")
    values = built.importance.values
    # `family` has one value in every trial: nothing to attribute to it.
    assert set(values) == {"learning_rate", "batch_size"} and abs(sum(values.values()) - 1) < 1e-6
    assert list(values.values()) == sorted(values.values(), reverse=True)
    assert "importance.png" in {p.name for p in built.files}
    text = _text(storage, tmp_path / "r")
    assert "Hyper-parameter importance (4 complete trials" in text and "learning_rate" in text
    assert json.loads(json.dumps(built.to_json()))["param_importances"]["values"] == values


def test_importances_are_skipped_with_one_line_when_they_cannot_mean_anything(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    storage = make_study(one, complete=1)
    assert "at least 2 complete trials, the study has 1" in (param_importances(optuna.load_study(study_name=NAME, storage=storage)).skipped or "")
    assert "hyper-parameter importance: skipped, needs at least 2 complete trials" in _text(storage, one / "r")
    assert "importance.png" not in {p.name for p in build_report(load_study(storage, NAME), one / "r").files}

    same = tmp_path / "same"
    same.mkdir()
    storage = make_study(same, complete=3, batch_sizes=(16,))
    study = optuna.load_study(study_name=NAME, storage=storage)
    # learning_rate still varies here; with it fixed too, nothing is left.
    for trial in study.get_trials():
        assert trial.params.get("batch_size", 16) == 16
    assert set(param_importances(study).values) == {"learning_rate"}
    constant = optuna.create_study(direction="maximize")
    for value in (0.6, 0.7):
        constant.add_trial(optuna.trial.create_trial(value=value, params={"x": 1}, distributions={"x": optuna.distributions.IntDistribution(0, 3)}))
    assert "every sampled parameter (x) has a single value in the 2 complete trials" == param_importances(constant).skipped


def test_a_run_stopped_by_its_time_limit_says_so_and_a_finished_one_does_not(tmp_path):
    storage = make_study(tmp_path)
    study = optuna.load_study(study_name=NAME, storage=storage)
    record.save_run_end(study, record.RunEnd(record.STOPPED_BY_TIMEOUT, timeout_seconds=60.0, finished_trials=3))
    text = _text(storage, tmp_path / "r")
    assert "the last run was stopped by its time limit (--timeout of 60 s) with 3 trials finished" in text
    result = CliRunner().invoke(app, ["report", "--storage", storage, "--results-dir", str(tmp_path / "r"), "--format", "json", "--no-html"])
    assert json.loads(result.stdout)["last_run_end"] == {"stopped_by": "timeout", "timeout_seconds": 60.0, "finished_trials": 3}

    record.save_run_end(study, record.RunEnd(record.STOPPED_BY_BUDGET, timeout_seconds=60.0, finished_trials=5))
    assert "time limit" not in _text(storage, tmp_path / "r")


def test_a_run_end_record_is_read_leniently():
    assert record.run_end_of({}) is None
    assert record.run_end_of({record.RUN_END_KEY: "timeout"}) is None
    end = record.run_end_of({record.RUN_END_KEY: {"stopped_by": "timeout", "timeout_seconds": 30}})
    assert end is not None and end.timed_out and end.timeout_seconds == 30.0 and end.finished_trials is None


def test_the_leaderboard_with_flags_still_fits_eighty_columns(tmp_path):
    storage = make_study(tmp_path)
    text = _text(storage, tmp_path / "r", width=80)
    for block in ("Leaderboard", "Test split"):
        start = text.index(block)
        table = text[start : text.index("┘", start)]
        assert "…" not in table and max(len(line) for line in table.splitlines()) <= 80, table


def test_the_importance_plot_draws_one_bar_per_parameter_and_refuses_none(tmp_path):
    import pytest

    from mammosearch.report.plots import plot_param_importances

    few = plot_param_importances({"learning_rate": 0.7, "$x_1$ <b>": 0.3}, tmp_path / "few.png", "study $x$")
    many = plot_param_importances({f"p{i}": 1 / 8 for i in range(8)}, tmp_path / "many.png", "many")
    with Image.open(few) as a, Image.open(many) as b:
        assert a.format == "PNG" and len(set(a.convert("L").getdata())) > 2
        assert b.size[1] > a.size[1]  # taller with more parameters: every bar keeps its label readable
    with pytest.raises(ValueError, match="at least one parameter"):
        plot_param_importances({}, tmp_path / "none.png", "none")


def test_a_real_run_stopped_by_timeout_is_recorded_and_a_finished_budget_clears_it(tmp_path, write_space):
    from conftest import TINY_SPACE

    space = write_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 2"))
    results = tmp_path / "r"
    runner = CliRunner()
    # 1 s cannot hold 40 trials (nor, on a busy machine, more than the set-up: the budget is the whole command's).
    assert runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(results), "--n-trials", "40", "--timeout", "1",
                                 "--trials-per-process", "0"]).exit_code == 0
    storage = f"sqlite:///{results / 'mammosearch.db'}"
    end = record.run_end_of(optuna.load_study(study_name="tiny", storage=storage).user_attrs)
    assert end is not None and end.timed_out and end.timeout_seconds == 1.0 and (end.finished_trials or 0) < 40
    assert "stopped by its time limit" in " ".join(runner.invoke(app, ["report", "--results-dir", str(results)]).output.split())
    # The same study run to a budget it reaches: the report no longer says so.
    assert runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(results), "--n-trials", str((end.finished_trials or 0) + 1)]).exit_code == 0
    end = record.run_end_of(optuna.load_study(study_name="tiny", storage=storage).user_attrs)
    assert end is not None and not end.timed_out
    assert "time limit" not in runner.invoke(app, ["report", "--results-dir", str(results)]).output
