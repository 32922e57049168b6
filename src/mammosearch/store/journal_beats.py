"""Heartbeats for a journal file: a running trial's worker touches a file next to the journal, on the same shared file system.

Optuna 5's ``JournalStorage`` has no heartbeat (it is no ``BaseHeartbeat``), so a worker
killed mid-trial left its trial RUNNING forever. This storage adds one the way
``RDBStorage`` has it: it implements Optuna's ``BaseHeartbeat``, so ``study.optimize``
starts the heartbeat thread of each trial and, before each new trial, fails the trials
whose beat is older than the grace period and hands them to the re-queue callback
(``store/heartbeat.py``), with no code of ours in that loop.

A beat is the modification time of ``<journal>.beats/trial-<id>``, not a journal record:
a record every ``heartbeat`` seconds per worker would grow the journal, which every process
replays in full when it opens the study, without bound. Clocks: nodes' clocks may disagree,
so no node's clock is compared with a beat. ``os.utime(path, None)`` lets the file system set
the time (on NFS the server's clock, ``SET_TO_SERVER_TIME``), and "now" is read the same way,
from a probe file touched just before; both times come from one clock, the
file server's. Assumed: the shared file system sets times on ``utime(None)`` (NFS, Lustre,
GPFS, a local disk do) and a file's attributes are fresh after ``open`` (NFS close-to-open
consistency), which is why a beat's time is read through an open file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import optuna
from optuna.storages import JournalStorage
from optuna.storages._heartbeat import BaseHeartbeat  # the interface RDBStorage implements; Optuna's loop checks for it
from optuna.storages.journal import BaseJournalBackend
from optuna.trial import FrozenTrial, TrialState

BEATS_SUFFIX = ".beats"


def beats_dir(journal: Path) -> Path:
    """The folder of a journal's heartbeat files, next to it on the same file system."""
    return journal.with_name(journal.name + BEATS_SUFFIX)


class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
    """A ``JournalStorage`` whose running trials beat through file times, failed and re-queued once silent for ``grace_period`` seconds."""

    def __init__(
        self,
        backend: BaseJournalBackend,
        beats: Path,
        heartbeat_interval: int,
        grace_period: int,
        stale_trial_callback: Callable[[optuna.Study, FrozenTrial], None] | None,
    ) -> None:
        if heartbeat_interval <= 0 or grace_period <= 0:
            raise ValueError(f"`heartbeat_interval > 0` and `grace_period > 0` must hold, but got ({heartbeat_interval=}, {grace_period=}).")
        super().__init__(backend)
        self._beats = beats
        self._beats.mkdir(parents=True, exist_ok=True)
        self._interval = heartbeat_interval
        self._grace = grace_period
        self._stale_callback = stale_trial_callback
        # "Now", as the file system's clock says: one file every worker touches (a race only moves it by the milliseconds between two touches).
        self._clock = beats / "clock"

    def _beat_file(self, trial_id: int) -> Path:
        return self._beats / f"trial-{trial_id}"

    def record_heartbeat(self, trial_id: int) -> None:
        _touch(self._beat_file(trial_id))

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        running = self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,))
        if not running:
            return []
        _touch(self._clock)
        now = _file_time(self._clock)
        assert now is not None  # just written
        stale = []
        for trial in running:
            beat = _file_time(self._beat_file(trial._trial_id))
            # No beat yet: its worker is between asking for the trial and its first beat (a
            # moment), as RDBStorage treats a trial without a heartbeat row: not stale.
            if beat is not None and now - beat > self._grace:
                stale.append(trial._trial_id)
        return stale

    def get_heartbeat_interval(self) -> int:
        return self._interval

    def get_heartbeat_stale_trial_callback(self) -> Callable[[optuna.Study, FrozenTrial], None] | None:
        return self._stale_callback

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Sequence[float] | None = None) -> bool:
        changed = super().set_trial_state_values(trial_id, state, values)
        if state.is_finished():
            # Optuna stops a trial's heartbeat thread before it records the trial's end, so
            # nothing writes the file again: a finished study leaves no beat files behind.
            self._beat_file(trial_id).unlink(missing_ok=True)
        return changed


def _touch(path: Path) -> None:
    try:
        os.utime(path, None)  # the file system's "now": the file server's clock on a network file system
    except FileNotFoundError:
        path.touch()


def _file_time(path: Path) -> float | None:
    try:
        with path.open("rb") as handle:  # open first: a network file system then revalidates the attributes
            return os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return None
