"""Who did what: trials per worker and each worker's busy and idle time, so a lab sees whether its GPUs were kept busy.

Each trial records the worker that ran it and when that worker started
(``store/worker_stamp.py``); Optuna records when the trial started and ended. A worker's
*session* is one start of it (a requeued SLURM task starts a new session under the same
label). Busy is the sum of its trials' durations; idle is the rest of the session up to
its last trial's end: start-up (imports, loading data and caches) before the first trial,
and the gaps between trials (sampling, storage round trips, recycling a process, waiting
on a cache another worker fills). Time after its last trial (an exiting worker, or one
killed) is not seen, and a trial still running counts up to now.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import optuna

from mammosearch.store.record import stamp_of

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running"}


@dataclasses.dataclass(frozen=True)
class WorkerActivity:
    worker: str
    host: str
    started: str  # ISO time the worker's session started
    trials: int
    complete: int
    pruned: int
    failed: int
    running: int
    busy_s: float
    idle_s: float

    @property
    def busy_fraction(self) -> float:
        total = self.busy_s + self.idle_s
        return self.busy_s / total if total > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "busy_fraction": round(self.busy_fraction, 4)}


def _end(trial: optuna.trial.FrozenTrial, now: datetime) -> datetime | None:
    if trial.datetime_start is None:
        return None
    return trial.datetime_complete or (now if trial.state == optuna.trial.TrialState.RUNNING else trial.datetime_start)


def worker_activity(trials: list[optuna.trial.FrozenTrial], now: datetime | None = None) -> list[WorkerActivity]:
    """One row per worker session, in the order the sessions started; trials recorded without a worker are left out."""
    now = now or datetime.now()
    sessions: dict[tuple[str, str, float], list[optuna.trial.FrozenTrial]] = {}
    for trial in trials:
        stamp = stamp_of(trial.user_attrs)
        if stamp is not None and trial.datetime_start is not None:
            sessions.setdefault((stamp.label, stamp.host, stamp.started), []).append(trial)
    rows = []
    for (label, host, started), ran in sorted(sessions.items(), key=lambda item: item[0][2]):
        # Optuna's datetimes are naive local times; the worker's start is epoch seconds.
        began = datetime.fromtimestamp(started)
        spans = [(t.datetime_start, _end(t, now)) for t in ran]
        busy = sum((end - start).total_seconds() for start, end in spans if start is not None and end is not None)
        last = max(end for _, end in spans if end is not None)
        states = [STATES.get(t.state.name, t.state.name.lower()) for t in ran]
        rows.append(WorkerActivity(
            worker=label, host=host,
            started=datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
            trials=len(ran), complete=states.count("complete"), pruned=states.count("pruned"),
            failed=states.count("failed"), running=states.count("running"),
            busy_s=round(busy, 1), idle_s=round(max(0.0, (last - began).total_seconds() - busy), 1),
        ))
    return rows
