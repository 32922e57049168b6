"""A second set-up while a worker runs: the worker notices it between trials and goes on under the new order.

Real SQLite storage, real (tiny) Keras trials in this process: a worker joins a study set up
for 2 trials; after its first trial the study is set up again for 3 (`run --setup-only
--n-trials 3`, as a user raising the budget would). The worker must not finish under the
old order (2 trials): it reloads the new one and the study reaches 3.
"""

from __future__ import annotations

import dataclasses

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.config.reader import parse_space
from mammosearch.search.joining import JoinRequest, LogListener, join_study
from mammosearch.search.options import RunOptions
from mammosearch.search.order_watch import new_order
from mammosearch.search.run import run_study
from mammosearch.store.record.worker_order import order_of

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _set_up(space, storage: str, results) -> None:
    run_study(space, RunOptions(storage_url=storage, results_dir=results, study_name="tiny", setup_only=True))


@pytest.mark.slow
def test_a_worker_goes_on_under_a_set_up_made_while_it_runs(tmp_path):
    storage, results = f"sqlite:///{tmp_path / 's.db'}", tmp_path / "results"
    space = parse_space(TINY_SPACE)
    _set_up(dataclasses.replace(space, study=dataclasses.replace(space.study, n_trials=2)), storage, results)
    first = order_of(optuna.load_study(study_name="tiny", storage=storage).user_attrs)
    assert first is not None and first.epoch == 1
    lines: list[str] = []

    class RaiseTheBudget(LogListener):
        def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None:
            super().on_trial_end(trial)
            if trial.number == 0:
                _set_up(space, storage, results)  # n_trials: 3

    result = join_study(JoinRequest(storage, "tiny", wait_setup=0), RaiseTheBudget(lines.append), lines.append)
    study = optuna.load_study(study_name="tiny", storage=storage)
    second = order_of(study.user_attrs)
    assert second is not None and second.epoch == 2 and second.token != first.token
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 3, lines
    assert result.summary.new_trials == 3
    assert any(line.startswith("study 'tiny' was set up again (set-up 2 of ") for line in lines), lines
    assert new_order(study.user_attrs, second.token) is None and new_order(study.user_attrs, first.token) == second
    assert new_order(study.user_attrs, None) is None  # not a worker: nothing to watch
