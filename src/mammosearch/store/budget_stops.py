"""Trials the time budget stopped: queued again with the same parameters, for the next run to train in full.

A trial stopped at an epoch boundary by ``--timeout`` says nothing about its parameters
(it ran out of time, it did not do badly), so it is recorded as FAIL, which no sampler
learns from and ``n_trials`` does not count, rather than PRUNED, which TPE reads as a poor
result. A copy with the same parameters is added as a WAITING trial (Optuna's
``enqueue_trial``, the mechanism of its ``RetryFailedTrialCallback``): the next
``study.optimize`` of any process takes it before sampling anything new. The copy names
the trial it resumes, so it trains with that trial's seed: the model the stopped trial
would have become.
"""

from __future__ import annotations

import optuna

from mammosearch.spec import TrialOutcome
from mammosearch.store.record import from_user_attrs, to_user_attrs


def requeue(study: optuna.Study, trial: optuna.trial.Trial) -> None:
    """Queue ``trial``'s parameters again, naming ``trial`` (or the trial it itself resumed) as the one resumed."""
    first = from_user_attrs(trial.user_attrs).resumes_trial
    resumed = trial.number if first is None else first
    study.enqueue_trial(dict(trial.params), user_attrs=to_user_attrs(TrialOutcome(resumes_trial=resumed)))


def waiting_resumes(study: optuna.Study) -> int:
    """Trials stopped by the budget whose full run is still waiting in the queue."""
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    return sum(1 for trial in waiting if from_user_attrs(trial.user_attrs).resumes_trial is not None)


def stopped_by_budget(trial: optuna.trial.FrozenTrial) -> bool:
    return bool(from_user_attrs(trial.user_attrs).stopped_by_budget)
