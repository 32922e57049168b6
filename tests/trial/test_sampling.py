from __future__ import annotations

import optuna
import pytest

from mammosearch.config import Space, parse_space
from mammosearch.spec import TrialParams
from mammosearch.trial import sample_params

optuna.logging.set_verbosity(optuna.logging.WARNING)

FULL = parse_space(
    """
model:
  families: [cnn, vgg16, resnet50]
  heads: [dense_bn_dropout, gap_dropout]
  input_size: [32, 48]
training:
  fine_tune: [false, true]
  unfrozen_layers: {low: 1, high: 5}
  fine_tune_epochs: [1, 2]
  batch_size: 16
"""
)


def _sample_many(space: Space, n: int = 60) -> list[tuple[dict, TrialParams]]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        params = sample_params(trial, space)
        out.append((dict(trial.params), params))
        study.tell(trial, 0.5)
    return out


def test_conditional_parameters_are_sampled_only_where_they_apply():
    seen = set()
    for suggested, params in _sample_many(FULL):
        seen.add((params.family, params.head.kind if params.head else None, params.fine_tune))
        if params.family == "cnn":
            assert params.cnn is not None and params.head is None
            assert not {"head", "head_dropout", "head_dense_units", "fine_tune", "unfrozen_layers"} & set(suggested)
            assert {"cnn_filters", "cnn_dense_units", "cnn_dropout"} <= set(suggested)
        else:
            assert params.cnn is None and params.head is not None
            assert not any(name.startswith("cnn_") for name in suggested)
            assert ("head_dense_units" in suggested) == (params.head.kind == "dense_bn_dropout")
            assert ("unfrozen_layers" in suggested) == params.fine_tune
            assert ("fine_tune_learning_rate" in suggested) == params.fine_tune
            if not params.fine_tune:
                assert params.unfrozen_layers == 0 and params.fine_tune_learning_rate is None
    # The random sampler reached every branch of the tree.
    assert {f for f, _, _ in seen} == {"cnn", "vgg16", "resnet50"}
    assert {(h, ft) for f, h, ft in seen if f != "cnn"} == {
        ("dense_bn_dropout", False), ("dense_bn_dropout", True), ("gap_dropout", False), ("gap_dropout", True)
    }


def test_fixed_values_are_not_search_dimensions_but_reach_the_params():
    for suggested, params in _sample_many(FULL, 10):
        assert "batch_size" not in suggested and params.batch_size == 16
        assert "optimizer" not in suggested and params.optimizer == "adam"


def test_fixed_trial_runs_sampling_without_a_study():
    trial = optuna.trial.FixedTrial(
        {"family": "vgg16", "input_size": 48, "learning_rate": 1e-3, "head": "gap_dropout", "head_dropout": 0.3,
         "fine_tune": True, "unfrozen_layers": 4, "fine_tune_learning_rate": 1e-5, "fine_tune_epochs": 2}
    )
    params = sample_params(trial, FULL)
    assert params.family == "vgg16" and params.input_size == 48
    assert params.head.kind == "gap_dropout" and params.head.dense_units is None
    assert params.fine_tune and params.unfrozen_layers == 4 and params.total_epochs == params.epochs + 2


def test_values_stay_inside_their_ranges():
    for _, params in _sample_many(FULL):
        assert 3e-4 <= params.learning_rate <= 3e-3
        if params.fine_tune:
            assert 1 <= params.unfrozen_layers <= 5


def test_params_round_trip_through_json():
    for _, params in _sample_many(FULL, 20):
        assert TrialParams.from_json(params.to_json()) == params


@pytest.mark.parametrize("sampler", ["tpe", "cmaes"])
def test_model_based_samplers_handle_the_conditional_space(sampler):
    import dataclasses

    from mammosearch.search import make_sampler

    space = dataclasses.replace(FULL, study=dataclasses.replace(FULL.study, sampler=sampler, n_trials=12))
    study = optuna.create_study(direction="maximize", sampler=make_sampler(space))
    for i in range(12):
        trial = study.ask()
        params = sample_params(trial, space)
        study.tell(trial, params.learning_rate * (2 if params.family == "cnn" else 1))
    assert len(study.trials) == 12
