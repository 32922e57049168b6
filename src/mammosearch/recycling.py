"""Trials in recycled child processes.

TensorFlow keeps part of every model it has traced for the life of the process (about
10 MB per trial here, measured by ``benchmarks/memory.py``) even after
``clear_session``; Keras and Optuna users report the same growth. A long study therefore
runs its trials in a child process that is replaced every ``trials_per_process`` trials:
the memory goes back to the system with the process. The parent keeps the storage, the
progress display and the budget; children find data and activations in the on-disk caches.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue as queue_module
import time
from typing import Any

import optuna

from mammosearch.errors import MammosearchError
from mammosearch.params import TrialParams


class QueueListener:
    """The child's listener: forwards every event to the parent through a queue."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def on_study_start(self, *args: Any, **kwargs: Any) -> None:
        pass  # the parent announced the study already

    def on_trial_start(self, number: int, params: TrialParams) -> None:
        self.events.put(("trial_start", number, params.to_json()))

    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None:
        self.events.put(("epoch", epoch, total_epochs, {k: float(v) for k, v in logs.items()}))

    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None:
        self.events.put(("trial_end", trial.number))


def _child(space: Any, options: Any, events: Any, verbosity: int) -> None:
    from mammosearch.study import run_study

    optuna.logging.set_verbosity(verbosity)  # a spawned interpreter starts with Optuna's default
    run_study(space, options, QueueListener(events))


def _forward(events: Any, process: Any, listener: Any, study: optuna.Study) -> None:
    while True:
        try:
            event = events.get(timeout=0.2)
        except queue_module.Empty:
            if not process.is_alive():
                return
            continue
        if listener is None:
            continue
        kind = event[0]
        if kind == "trial_start":
            listener.on_trial_start(event[1], TrialParams.from_json(event[2]))
        elif kind == "epoch":
            listener.on_epoch(event[1], event[2], event[3])
        elif kind == "trial_end":
            trial = next((t for t in study.get_trials(deepcopy=False) if t.number == event[1]), None)
            if trial is not None:
                listener.on_trial_end(trial)


def run_recycled(space: Any, options: Any, study: optuna.Study, listener: Any, finished: Any) -> None:
    """Run the study's remaining trials, ``options.trials_per_process`` per child process."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited to leak
    per_process = int(options.trials_per_process)
    total = space.study.n_trials
    deadline = None if space.study.timeout is None else time.monotonic() + space.study.timeout
    child_options = dataclasses.replace(options, study_name=study.study_name, trials_per_process=None)
    while True:
        done = finished(study)
        if total is not None and done >= total:
            return
        time_left = None if deadline is None else deadline - time.monotonic()
        if time_left is not None and time_left <= 1:
            return
        target = done + per_process if total is None else min(total, done + per_process)
        child_space = dataclasses.replace(space, study=dataclasses.replace(space.study, n_trials=target, timeout=time_left))
        events = context.Queue()
        process = context.Process(target=_child, args=(child_space, child_options, events, optuna.logging.get_verbosity()))
        process.start()
        try:
            _forward(events, process, listener, study)
        finally:
            process.join()
        if process.exitcode != 0:
            raise MammosearchError(f"a trial process exited with code {process.exitcode}; finished trials are kept, run the same command to resume")
        if finished(study) == done:
            return  # the child could not add a trial (budget reached by other workers)
