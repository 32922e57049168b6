from __future__ import annotations

import keras
import numpy as np
import optuna
import pytest

from mammosearch.models import build_model
from mammosearch.trial.fit import Arrays, PruningCallback, fit_two_phase
from model_params import params_for

optuna.logging.set_verbosity(optuna.logging.WARNING)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def _study_with_strong_history(n_steps: int) -> optuna.Study:
    """Earlier trials reported a validation AUC of 0.99 at every epoch."""
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    for _ in range(3):
        trial = study.ask()
        for step in range(n_steps):
            trial.report(0.99, step)
        study.tell(trial, 0.99)
    return study


def _noise_data() -> Arrays:
    rng = np.random.default_rng(0)
    # Labels unrelated to pixels: validation AUC stays near 0.5, far under the median 0.99.
    return Arrays(rng.integers(0, 256, (16, 32, 32, 1)).astype("float32"), np.array([0, 1] * 8, dtype="float32"))


def test_a_real_keras_fit_is_pruned_by_the_median_pruner():
    keras.backend.clear_session()
    study = _study_with_strong_history(5)
    trial = study.ask()
    params = params_for("cnn", epochs=5)
    model = build_model(params, 1)
    data = _noise_data()
    with pytest.raises(optuna.TrialPruned, match="pruned at epoch 0"):
        fit_two_phase(model, params, data, data, callbacks=[PruningCallback(trial)])
    assert list(study.trials[-1].intermediate_values) == [0]  # stopped after the first epoch


def test_steps_continue_across_the_fine_tuning_phase():
    keras.backend.clear_session()
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    params = params_for("vgg16", epochs=2, fine_tune=True, unfrozen_layers=2, fine_tune_learning_rate=1e-4, fine_tune_epochs=2)
    model = build_model(params, 1)
    data = _noise_data()
    fit_two_phase(model, params, data, data, callbacks=[PruningCallback(trial)])
    assert sorted(study.trials[-1].intermediate_values) == [0, 1, 2, 3]


def test_a_missing_metric_is_an_error_not_a_silent_no_op():
    study = optuna.create_study(direction="maximize")
    callback = PruningCallback(study.ask())
    with pytest.raises(KeyError, match="val_auc"):
        callback.on_epoch_end(0, {"val_auc_1": 0.7, "loss": 0.5})
