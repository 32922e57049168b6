"""`--timeout` is the budget of the whole command: a trial that would overrun it stops at an epoch
boundary, is recorded as stopped by the budget (not ranked, not counted), and the next run trains it in full.
The run's output shows the set-up stages' progress without a terminal and says where the time went."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch import progress, progress_lines
from mammosearch.cli import app
from mammosearch.store.record import from_user_attrs

# Epochs of a few milliseconds after the first (which traces the model): a whole trial takes
# seconds, far more than what is left of a budget that set-up has nearly spent.
LONG_TRIALS = """
study: {name: budget, sampler: random, pruner: none, n_trials: 1, seed: 1, keep_top_k: 1}
data: {source: synthetic, n_images: 48, image_size: 32, split: {validation: 0.25, test: 0.25, seed: 0}}
model: {families: [cnn], input_size: 32, cnn: {filters: [4], kernel_size: 3, dense_units: 8, dropout: 0.2}}
training: {batch_size: 16, epochs: 150}
"""


@pytest.mark.slow
def test_a_tiny_budget_stops_the_trial_at_an_epoch_boundary_and_the_next_run_trains_it_in_full(tmp_path, write_space):
    space = write_space(LONG_TRIALS)
    results = tmp_path / "results"
    storage = f"sqlite:///{results / 'mammosearch.db'}"
    runner = CliRunner()
    base = ["run", "--space", str(space), "--results-dir", str(results), "--trials-per-process", "0"]
    stopped = None
    # The set-up's share of the budget depends on this machine's load: a budget set-up spends
    # whole starts no trial (and records nothing); double it until a trial starts and is stopped.
    for budget in (2, 4, 8, 16, 32, 64):
        result = runner.invoke(app, [*base, "--timeout", str(budget)])
        assert result.exit_code == 0, result.output
        trials = optuna.load_study(study_name="budget", storage=storage).get_trials()
        stopped = next((t for t in trials if from_user_attrs(t.user_attrs).stopped_by_budget), None)
        if stopped is not None:
            break
    assert stopped is not None, "no budget stopped a trial"
    outcome = from_user_attrs(stopped.user_attrs)
    assert stopped.state == optuna.trial.TrialState.FAIL and outcome.epochs_trained is not None and 1 <= outcome.epochs_trained < 150
    text = " ".join(result.output.split())
    assert f"stopped by the time budget after epoch {outcome.epochs_trained}" in text
    assert "0 new trials, 0 finished" in text and "1 trial stopped by the time budget" in text
    assert "time: " in text and f"of a {budget}.0 s budget: set-up" in text and "trials " in text
    # Not ranked: the report has no complete trial to show.
    assert "best: none yet" in text

    resumed = runner.invoke(app, base)  # no --timeout: the queued copy trains in full
    assert resumed.exit_code == 0, resumed.output
    assert "1 new trial, 1 finished" in " ".join(resumed.output.split())
    study = optuna.load_study(study_name="budget", storage=storage)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(complete) == 1 and not study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    finished = from_user_attrs(complete[0].user_attrs)
    assert finished.resumes_trial == stopped.number and complete[0].params == stopped.params
    assert finished.params is not None and outcome.params is not None and finished.params.seed == outcome.params.seed
    assert finished.epochs_trained == 150


def _png_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for cls in ("benign", "malignant"):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 255, (40, 40), dtype=np.uint8)).save(root / cls / f"p{i}_{cls}.png")
    return root


@pytest.mark.slow
def test_set_up_stages_print_progress_lines_without_a_terminal_and_the_summary_lists_stage_times(tmp_path, write_space, monkeypatch):
    # The thresholds of a real run (a line at most every 10 s) hide a stage this small: shown every update here.
    monkeypatch.setattr(progress_lines, "LINE_EVERY", 0.0)
    monkeypatch.setattr(progress_lines, "FINISH_LINE_AFTER", 0.0)
    monkeypatch.setattr(progress, "UPDATE_EVERY", 0.0)
    # ... and the summary leaves out nested stages under 0.05 s, which 24 tiny PNGs are on a quiet machine.
    # (a constant inside report/'s summary module, reached by its path: report's face exports the summary, not its threshold)
    monkeypatch.setattr("mammosearch.report._time_summary.SHOWN_FROM", 0.0)
    folder = _png_folder(tmp_path / "pngs")
    space = write_space(
        "study: {name: stages, sampler: random, pruner: none, n_trials: 1, seed: 1}\n"
        f"data: {{source: folder, root: {folder}, image_size: 32, patient_regex: '^(p\\d+)_', split: {{validation: 0.25, test: 0.25, seed: 0}}}}\n"
        "model: {families: [cnn], input_size: 32, cnn: {filters: [4], kernel_size: 3, dense_units: 8, dropout: 0.2}}\n"
        "training: {batch_size: 8, epochs: 2}\n"
    )
    result = CliRunner().invoke(app, ["run", "--space", str(space), "--results-dir", str(tmp_path / "r"), "--trials-per-process", "0"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.strip().startswith("decode: 12/24 files,") and "left" in line for line in lines), result.output
    assert any(line.strip().startswith("decode: 24 files in") for line in lines)
    assert any(line.strip().startswith("near-duplicates: 24 images in") for line in lines)
    assert any(line.startswith("set-up: done in") for line in lines)
    assert any("epoch 1/2:" in line and "batches" in line for line in lines)  # each epoch's batches
    summary = next(line for line in lines if line.startswith("time: "))
    assert "set-up " in summary and "(load data " in summary and "fingerprint" in summary and "trials " in summary
