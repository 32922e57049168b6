"""A study written before rectangular sizes (square ints only) opens and resumes with the same parameter values."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from mammosearch.cli import app

pytestmark = pytest.mark.slow  # trains a model

# The space main ran at 3ff72d3 to write studies/square_v0.sql (n_trials then 1).
SQUARE_SPACE = """
study: {name: square, sampler: random, pruner: none, n_trials: 2, seed: 3}
data: {source: synthetic, n_images: 48, image_size: 32, seed: 1, split: {validation: 0.25, test: 0.0}}
model: {families: [cnn], input_size: [32, 24], cnn: {filters: [4], kernel_size: 3, dense_units: 8, dropout: 0.1}}
training: {batch_size: 8, epochs: 1}
"""


def test_a_square_study_written_before_rectangles_resumes(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    dump = (Path(__file__).parent / "studies" / "square_v0.sql").read_text(encoding="utf-8")
    with sqlite3.connect(results / "mammosearch.db") as db:
        db.executescript(dump.replace("@RESULTS@", str(results)))
    space = tmp_path / "space.yaml"
    space.write_text(SQUARE_SPACE, encoding="utf-8")
    result = CliRunner().invoke(app, ["run", "--space", str(space), "--results-dir", str(results)])
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="square", storage=f"sqlite:///{results / 'mammosearch.db'}")
    trials = study.get_trials(deepcopy=False)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    # The old trial keeps its value; the new one is sampled from the same distribution, an int as before.
    assert trials[0].params["input_size"] == 32
    assert trials[0].distributions["input_size"] == trials[1].distributions["input_size"] == optuna.distributions.CategoricalDistribution([32, 24])
    assert isinstance(trials[1].params["input_size"], int)
    assert isinstance(trials[1].user_attrs["params"]["input_size"], int)
