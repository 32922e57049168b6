"""TrialOutcome <-> Optuna user attributes, the top-K rule, and parameter specs that own their behaviour."""

from __future__ import annotations

import optuna
import pytest

from mammosearch.spec import CACHED, FOLD, AugmentationParams, Categorical, CnnParams, Fixed, FloatRange, IntRange, SplitMetrics, TrialOutcome, TrialParams
from mammosearch.store import record
from mammosearch.store.kept_models import top_k

PARAMS = TrialParams(
    family="cnn", input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=8, epochs=2,
    augmentation=AugmentationParams(flip=True), cnn=CnnParams(4, 3, 8, 0.2), seed=7,
)


def test_an_outcome_survives_a_real_storage_round_trip(tmp_path):
    import numpy as np

    outcome = TrialOutcome(
        params=PARAMS, step_unit=FOLD, training_path=CACHED, activation_cut="block5_pool", best_epoch=2, epochs_trained=2,
        history=[{"epoch": 1, "val_auc": 0.5}, {"epoch": 2, "val_auc": 0.75}],
        val_metrics=SplitMetrics(auc=np.float64(0.75), fold_aucs=(0.7, 0.8), youden_threshold=0.4),
        fit_seconds=1.5, trial_seconds=2.0, model_path="/x/model.keras",
    )
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'r.db'}", study_name="r", direction="maximize")
    trial = study.ask()
    record.save(trial, outcome)
    study.tell(trial, 0.75)
    back = record.from_user_attrs(study.trials[0].user_attrs)
    assert back == outcome
    assert back.fold_aucs == [0.7, 0.8]


def test_only_what_changed_is_written_again():
    class Sink:
        def __init__(self) -> None:
            self.calls: list[str] = []

        def set_user_attr(self, key, value) -> None:
            self.calls.append(key)

    sink, written = Sink(), {}
    outcome = TrialOutcome(params=PARAMS)
    record.save(sink, outcome, written)
    first = list(sink.calls)
    outcome.best_epoch = 3
    record.save(sink, outcome, written)
    assert set(first) == {"params", "step_unit"} and sink.calls[len(first):] == ["best_epoch"]


def test_a_foreign_record_reads_as_far_as_it_goes():
    back = record.from_user_attrs({"params": {"family": "cnn"}, "fail_reason": "boom", "unknown": 1})
    assert back.params is None and back.fail_reason == "boom" and back.step_unit == "epoch"
    assert record.params_dict({"params": {"family": "cnn"}}) == {"family": "cnn"}


def test_the_top_k_rule_breaks_ties_by_the_earlier_trial():
    assert top_k([(0, 0.7), (1, 0.9), (2, 0.9), (3, 0.8)], 2) == {1, 2}
    assert top_k([(5, 0.9), (2, 0.9), (3, 0.9)], 2) == {2, 3}
    assert top_k([], 3) == set()


def test_specs_sample_bound_and_translate_themselves():
    trial = optuna.trial.FixedTrial({"lr": 0.01, "n": 4, "opt": "sgd"})
    assert FloatRange(1e-4, 1e-1, log=True).suggest(trial, "lr") == 0.01
    assert IntRange(1, 8).suggest(trial, "n") == 4
    assert Categorical(("adam", "sgd")).suggest(trial, "opt") == "sgd"
    assert Fixed(3).suggest(trial, "never_asked") == 3
    assert (IntRange(2, 9).smallest(), IntRange(2, 9).largest()) == (2, 9)
    assert Categorical((False, True)).can_be(True) and not Fixed(False).can_be(True)
    assert isinstance(IntRange(1, 4, log=True).distribution(), optuna.distributions.IntDistribution)
    assert Fixed(1).distribution() is None


def test_specs_refuse_what_cannot_be_sampled():
    with pytest.raises(ValueError, match="`low <= high` must hold"):
        IntRange(5, 1)
    with pytest.raises(ValueError, match="log range needs low > 0"):
        FloatRange(0.0, 1.0, log=True)
    with pytest.raises(ValueError, match="distinct"):
        Categorical((1, 1))


def test_specs_declare_themselves_to_kerastuner():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    assert FloatRange(1e-4, 1e-2, log=True).kerastuner(hp, "lr") == pytest.approx(1e-4)
    assert IntRange(2, 6, step=2).kerastuner(hp, "n") == 2
    assert Categorical(("a", "b")).kerastuner(hp, "c") == "a"
    assert {type(p).__name__ for p in hp.space} == {"Float", "Int", "Choice"}
