"""`export-best --ensemble K`: one safe-mode model that reproduces the ensemble scores the report shows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import TINY_SPACE
from mammosearch.cli import app
from mammosearch.config import parse_space
from mammosearch.data import load_image_set
from mammosearch.report import ensemble_scores
from mammosearch.store import load_study

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def test_the_exported_ensemble_reloads_in_safe_mode_and_reproduces_the_reported_scores(tiny_study, tmp_path):
    import keras

    runner = CliRunner()
    result = runner.invoke(app, ["export-best", "--storage", tiny_study["storage"], "--study", "tiny", "--ensemble", "2", "--out", str(tmp_path / "ens")])
    assert result.exit_code == 0, result.output
    model = keras.saving.load_model(tmp_path / "ens" / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 1)
    card = json.loads((tmp_path / "ens" / "model_card.json").read_text())
    record = load_study(tiny_study["storage"], "tiny")
    reported = ensemble_scores(record, 2)
    assert reported is not None and [m["trial"] for m in card["ensemble"]["members"]] == reported["members"]

    space = parse_space(TINY_SPACE)
    data = load_image_set(space.data, space.split)
    stored = [json.loads((row.model_path.parent / "predictions.json").read_text()) for row in record.ranked() if row.number in reported["members"]]
    for split in ("val", "test"):
        part = data.subset(split)
        predicted = model.predict(part.images.astype("float32"), verbose=0).reshape(-1)
        mean = np.mean([s[split]["scores"] for s in stored], axis=0)
        assert np.allclose(predicted, mean, atol=1e-5), split
        from mammosearch.metrics import evaluate_predictions

        assert evaluate_predictions(part.labels, predicted)["auc"] == reported["splits"][split]["ensemble"]["auc"]


def test_an_ensemble_needs_two_kept_trials(tmp_path, tiny_study):
    result = CliRunner().invoke(app, ["export-best", "--storage", tiny_study["storage"], "--study", "tiny", "--ensemble", "2", "--trial", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code == 5 and "exclude each other" in result.output
