"""A trial whose worker died or was stopped: failed, and its parameters queued again, the same way on every storage.

Optuna's answer for RDB storages, kept for all of them: a running trial beats every
``heartbeat`` seconds; one silent for ``GRACE_INTERVALS`` intervals is failed by the next
worker that starts a trial (``optuna.storages.fail_stale_trials``), and
``RetryHeartbeatStaleTrialCallback`` adds a WAITING copy with the same parameters (up to
``MAX_RETRY`` times), which the next ``study.optimize`` of any worker takes before sampling.
A PostgreSQL or SQLite storage gets these through ``RDBStorage``'s arguments
(``store/storage.py``), a journal file through ``store/journal_beats.py``, and a worker
stopped by SIGTERM hands its own trial to the same callback (``requeue_stopped``) instead of
waiting out the grace period.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna

from mammosearch.store.record import failed_by_objective

GRACE_INTERVALS = 2
MAX_RETRY = 3

StaleTrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def grace_period(heartbeat: int) -> int:
    """Seconds without a heartbeat after which a running trial's worker is taken for dead."""
    return GRACE_INTERVALS * heartbeat


def retry_callback() -> StaleTrialCallback:
    """Optuna's re-queue of a stale trial: a WAITING copy with its parameters, naming it in ``failed_trial``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable in practice since Optuna 2.8
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail the study's running trials whose worker has been silent past the grace period and re-queue them (nothing without heartbeats)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def requeue_stopped(study: optuna.Study, trial_id: int) -> optuna.trial.FrozenTrial | None:
    """The trial this process was running when it was told to stop, once failed: its parameters queued again, as a stale trial's are.

    Returns it, or None when there was nothing to re-queue (it finished after all, or its
    objective failed it for a reason of its own, which a retry would meet again).
    """
    trial = study._storage.get_trial(trial_id)
    if trial.state != optuna.trial.TrialState.FAIL or failed_by_objective(trial.user_attrs):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry_callback()(study, trial)
    return trial
