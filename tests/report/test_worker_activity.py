"""The report's per-worker view: trials, busy and idle time of each worker session, from what trials record."""

from __future__ import annotations

from datetime import datetime, timedelta

import optuna

from mammosearch.report._workers import worker_activity
from mammosearch.store.record import WorkerStamp, save_stamp

T0 = datetime(2026, 5, 1, 12, 0, 0)


class _Attrs(dict):
    def set_user_attr(self, key, value):
        self[key] = value


def _trial(number: int, stamp: WorkerStamp | None, start_s: float, end_s: float | None, state=optuna.trial.TrialState.COMPLETE):
    attrs = _Attrs()
    if stamp is not None:
        save_stamp(attrs, stamp)
    return optuna.trial.FrozenTrial(
        number=number, state=state, value=0.5 if state == optuna.trial.TrialState.COMPLETE else None,
        datetime_start=T0 + timedelta(seconds=start_s), datetime_complete=None if end_s is None else T0 + timedelta(seconds=end_s),
        params={}, distributions={}, user_attrs=dict(attrs), system_attrs={}, intermediate_values={}, trial_id=number,
    )


def test_busy_is_training_and_idle_is_start_up_and_gaps_per_worker_session():
    started = T0.timestamp()
    a = WorkerStamp("node1", "slurm 7_0", started)
    b = WorkerStamp("node2", "slurm 7_1", started + 5)
    requeued = WorkerStamp("node3", "slurm 7_1", started + 100)  # the same task started again: a session of its own
    trials = [
        _trial(0, a, 10, 40),  # 10 s of start-up, then 30 s busy
        _trial(1, a, 50, 70, optuna.trial.TrialState.PRUNED),  # a 10 s gap, 20 s busy
        _trial(2, b, 20, 80, optuna.trial.TrialState.FAIL),
        _trial(3, requeued, 101, 111),
        _trial(4, None, 0, 5),  # recorded before workers were: left out
    ]
    rows = worker_activity(trials)
    assert [(r.worker, r.host, r.trials) for r in rows] == [("slurm 7_0", "node1", 2), ("slurm 7_1", "node2", 1), ("slurm 7_1", "node3", 1)]
    first, second, third = rows
    assert (first.busy_s, first.idle_s, first.complete, first.pruned) == (50.0, 20.0, 1, 1)
    assert (second.busy_s, second.idle_s, second.failed) == (60.0, 15.0, 1)
    assert (third.busy_s, third.idle_s) == (10.0, 1.0)
    assert round(first.busy_fraction, 3) == round(50 / 70, 3)


def test_a_running_trial_counts_as_busy_up_to_now():
    stamp = WorkerStamp("node1", "k8s 0", T0.timestamp())
    [row] = worker_activity([_trial(0, stamp, 2, None, optuna.trial.TrialState.RUNNING)], now=T0 + timedelta(seconds=12))
    assert (row.running, row.busy_s, row.idle_s) == (1, 10.0, 2.0)
