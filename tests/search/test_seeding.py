"""A sampler seed per trial: processes sharing a study draw different start-up points, reproducibly."""

from __future__ import annotations

import dataclasses
import json

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.config import parse_space
from mammosearch.search import make_sampler
from mammosearch.search.seeding import trial_seed
from mammosearch.trial import sample_params

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Several tunable knobs, so a repeated configuration cannot be a coincidence.
SPACE = TINY_SPACE.replace("batch_size: 16", "batch_size: [8, 16, 32]\n  optimizer: [adam, sgd]")


def _space(sampler: str):
    space = parse_space(SPACE)
    return dataclasses.replace(space, study=dataclasses.replace(space.study, sampler=sampler, n_trials=12))


def _draw(study: optuna.Study, space) -> str:
    trial = study.ask()
    params = json.dumps(sample_params(trial, space).to_json(), sort_keys=True)
    study.tell(trial, 0.5)
    return params


@pytest.mark.parametrize("sampler", ["random", "tpe", "cmaes"])
def test_two_processes_on_one_study_draw_different_start_up_points(sampler):
    """Each process builds its sampler from the same space and seed, as workers and concurrent runs do."""
    space = _space(sampler)
    storage = optuna.storages.InMemoryStorage()
    one = optuna.create_study(storage=storage, study_name="s", direction="maximize", sampler=make_sampler(space))
    two = optuna.load_study(storage=storage, study_name="s", sampler=make_sampler(space))
    drawn = [_draw(study, space) for _ in range(3) for study in (one, two)]
    assert len(set(drawn)) == len(drawn), drawn


def test_a_resumed_run_does_not_replay_the_first_runs_points():
    space = _space("random")
    storage = optuna.storages.InMemoryStorage()
    first = optuna.create_study(storage=storage, study_name="s", direction="maximize", sampler=make_sampler(space))
    drawn = [_draw(first, space) for _ in range(3)]
    resumed = optuna.load_study(storage=storage, study_name="s", sampler=make_sampler(space))
    drawn += [_draw(resumed, space) for _ in range(3)]
    assert len(set(drawn)) == 6


def test_trial_n_gets_the_same_point_whichever_process_draws_it():
    space = _space("random")
    alone = optuna.create_study(direction="maximize", sampler=make_sampler(space))
    sequential = [_draw(alone, space) for _ in range(4)]
    storage = optuna.storages.InMemoryStorage()
    one = optuna.create_study(storage=storage, study_name="s", direction="maximize", sampler=make_sampler(space))
    two = optuna.load_study(storage=storage, study_name="s", sampler=make_sampler(space))
    interleaved = [_draw(study, space) for study in (one, two, two, one)]
    assert interleaved == sequential


def test_trial_seeds_differ_by_trial_and_by_study_seed():
    seeds = {trial_seed(seed, number) for seed in range(3) for number in range(100)}
    assert len(seeds) == 300 and all(0 <= s < 2**32 for s in seeds)
