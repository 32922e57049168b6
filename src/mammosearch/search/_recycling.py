"""Trials in recycled child processes.

TensorFlow keeps part of every model it has traced for the life of the process (about
10 MB per trial here, measured by ``benchmarks/memory.py``) even after
``clear_session``; Keras and Optuna users report the same growth. A long study therefore
runs its trials in a child process that is replaced every ``trials_per_process`` trials:
the memory goes back to the system with the process. The parent keeps the storage, the
progress display and the budget; children open the study the parent set up (``opened.py``)
and find data and activations in the on-disk caches.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue as queue_module
import signal
import sys
from collections.abc import Callable
from typing import Any

import optuna

from mammosearch.config import Space
from mammosearch.deadline import seconds_left
from mammosearch.errors import MammosearchError, Terminated
from mammosearch.progress import StageEvent, relay, reporting
from mammosearch.search._listener import StudyListener
from mammosearch.search._order_watch import new_order
from mammosearch.search._termination import stop_on_sigterm
from mammosearch.search.options import RunOptions
from mammosearch.search.study import finished_trials
from mammosearch.spec import TrialParams


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

    def on_stage(self, event: StageEvent) -> None:
        self.events.put(("stage", event))  # the parent shows it and times it (progress.relay)


# The next child is started this many trials before the current one's last, so that its
# start-up (interpreter, TensorFlow import: ~6 s on 2 cores) overlaps training.
LEAD_TRIALS = 3

CTRL_C_EXIT = 130  # 128 + SIGINT: how a child ends on Ctrl-C, and how the parent knows it


@dataclasses.dataclass
class _Child:
    process: Any
    events: Any  # child -> parent: progress events
    orders: Any  # parent -> child: (the space to run with its trial budget, whether it is the last child), or None: exit


def _child(orders: Any, options: RunOptions, events: Any, verbosity: int) -> None:
    """A training process: wait for its order, run that many trials, report back, exit."""
    # Started with Ctrl-C ignored (see _spawn): from here on it is a KeyboardInterrupt, caught below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with stop_on_sigterm():
            _train_when_told(orders, options, events, verbosity)
    except Terminated as exc:
        # Its trial is failed and queued again (loop.run_trials). A second SIGTERM now (the
        # parent passing its own on) must not kill this process before the queue has sent this.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        events.put(("terminated", exc.requeued))
        sys.exit(Terminated.exit_code)
    except MammosearchError as exc:
        # A refusal found in the training process (a configuration that cannot fit the
        # memory budget): one line, said by the parent, not a child's traceback.
        events.put(("refused", str(exc), type(exc).__name__))
        sys.exit(2)
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole process group. The parent says "interrupted" once; a
        # child's traceback would only bury that line (Optuna has already failed the
        # running trial, which does not count towards the budget).
        sys.exit(CTRL_C_EXIT)


def _train_when_told(orders: Any, options: RunOptions, events: Any, verbosity: int) -> None:
    from mammosearch import runtime
    from mammosearch.search.loop import run_trials
    from mammosearch.search.opened import open_prepared

    optuna.logging.set_verbosity(verbosity)  # a spawned interpreter starts with Optuna's default
    runtime.configure(options.precision)  # the slow imports happen while the previous child trains
    order = orders.get()
    if order is None:
        return
    space, last = order
    child_options = dataclasses.replace(options, assemble_at_end=last)
    # The parent set the study up; the child only opens it (no fingerprint, no baseline
    # refit, no space check) and finds the data in the cache.
    listener = QueueListener(events)
    with reporting(listener):
        runtime_line = run_trials(open_prepared(space, child_options), space, child_options, listener)
    events.put(("runtime", runtime_line))  # Keras, backend and devices, as the child saw them


def _spawn(context: Any, options: RunOptions) -> _Child:
    events, orders = context.Queue(), context.Queue()
    process = context.Process(target=_child, args=(orders, options, events, optuna.logging.get_verbosity()))
    # A spawned interpreter imports its modules before _child runs; a Ctrl-C then would print
    # a traceback from multiprocessing's bootstrap. It inherits "ignore" and turns Ctrl-C back
    # on first thing in _child.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    return _Child(process, events, orders)


def _retire(child: _Child) -> None:
    """A standby child that is not needed: tell it to exit, and make sure it does."""
    child.orders.put(None)
    child.process.join(timeout=30)
    if child.process.is_alive():
        child.process.terminate()
        child.process.join()


# How long a child told to stop (SIGTERM) may take to fail and re-queue its trial: storage
# writes, well within the seconds a scheduler waits before SIGKILL (SLURM's KillWait, 30 s).
STOP_WAIT_SECONDS = 20.0


def _stop(child: _Child, requeued: int | None) -> int | None:
    """This process was told to stop: pass SIGTERM on to ``child`` (a Kubernetes pod's stop reaches only its first
    process), wait for it to re-queue its trial, return that trial's number if it said."""
    if child.process.is_alive():
        child.process.terminate()
    child.process.join(timeout=STOP_WAIT_SECONDS)
    if child.process.is_alive():
        child.process.kill()  # its trial stays RUNNING until a heartbeat check reclaims it
        child.process.join()
    while True:
        try:
            event = child.events.get(timeout=0.5)
        except (queue_module.Empty, OSError, ValueError):
            return requeued
        if event[0] == "terminated" and event[1] is not None:
            requeued = event[1]


def _refusal(message: str, kind: str) -> MammosearchError:
    """The child's refusal as the same error class (its exit code), raised in the parent."""
    from mammosearch import errors

    error = getattr(errors, kind, MammosearchError)
    return error(message) if isinstance(error, type) and issubclass(error, MammosearchError) else MammosearchError(message)


def _forward(events: Any, process: Any, listener: StudyListener | None, study: optuna.Study, on_started: Callable[[int], None]) -> str | None:
    """Pass the child's events to ``listener`` until the child exits; returns its runtime line.

    ``on_started`` is told how many trials the child has started, after each start.
    """
    runtime_line = None
    started = 0
    while True:
        try:
            event = events.get(timeout=0.2)
        except queue_module.Empty:
            if not process.is_alive():
                return runtime_line
            continue
        kind = event[0]
        if kind == "refused":
            raise _refusal(event[1], event[2])
        if kind == "terminated":
            raise Terminated(event[1])  # the child was told to stop (SLURM signals every process of the step)
        if kind == "stage":
            relay(event[1])
        elif kind == "runtime":
            runtime_line = event[1]
        elif kind == "trial_start":
            started += 1
            on_started(started)
            if listener is not None:
                listener.on_trial_start(event[1], TrialParams.from_json(event[2]))
        elif listener is None:
            continue
        elif kind == "epoch":
            listener.on_epoch(event[1], event[2], event[3])
        elif kind == "trial_end":
            trial = next((t for t in study.get_trials(deepcopy=False) if t.number == event[1]), None)
            if trial is not None:
                listener.on_trial_end(trial)


def run_recycled(space: Space, options: RunOptions, study: optuna.Study, listener: StudyListener | None, max_trials: int | None = None) -> str:
    """Run the study's remaining trials, ``options.trials_per_process`` per child process, at most ``max_trials`` of them
    (a worker's own ``--n-trials``; the study's budget still stops it first).

    Returns the runtime line (Keras, backend, devices) of the last child that reported one.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing inherited to leak
    per_process = int(options.trials_per_process or 1)
    total = space.study.n_trials
    deadline = options.deadline  # wall clock: the children compare it with their own clock (mammosearch/deadline.py)
    child_options = dataclasses.replace(options, study_name=study.study_name, trials_per_process=None)
    runtime_line = "training in recycled child processes"
    standby: _Child | None = None
    own_left = max_trials  # None: no cap of this process's own
    try:
        while True:
            done = finished_trials(study)
            if (total is not None and done >= total) or own_left == 0:
                return runtime_line
            if new_order(study.user_attrs, options.order_token) is not None:
                return runtime_line  # the study was set up again: the worker goes on under the new order (order_watch.py)
            time_left = seconds_left(deadline)
            if time_left is not None and time_left <= 1:
                return runtime_line
            share = per_process if own_left is None else min(per_process, own_left)
            target = done + share if total is None else min(total, done + share)
            child = standby or _spawn(context, child_options)
            standby = None
            # The last child assembles the kept models; without a trial budget any child may be the last.
            last = total is None or target >= total or (own_left is not None and own_left <= share)
            # The child gets the run options' deadline: what is left of the whole command's budget.
            child.orders.put((dataclasses.replace(space, study=dataclasses.replace(space.study, n_trials=target)), last))

            started_here = [0]

            def prepare_next(started: int, target: int = target, started_here: list[int] = started_here, own_left: int | None = own_left) -> None:
                nonlocal standby
                started_here[0] = started
                more_to_do = (total is None or target < total) and (own_left is None or own_left > started)
                if standby is None and more_to_do and started >= per_process - LEAD_TRIALS:
                    standby = _spawn(context, child_options)

            try:
                runtime_line = _forward(child.events, child.process, listener, study, prepare_next) or runtime_line
            except Terminated as stop:  # this process, or the child alone, was told to stop
                raise Terminated(_stop(child, stop.requeued)) from None
            finally:
                child.process.join()
            if child.process.exitcode in (Terminated.exit_code, -signal.SIGTERM):
                raise Terminated()  # the child was stopped before it could say which trial it re-queued
            if child.process.exitcode in (CTRL_C_EXIT, -signal.SIGINT):
                # Ctrl-C reached the child while this process ignored it (_spawn's window for a
                # standby child): the user interrupted the run, not a trial process failing.
                raise KeyboardInterrupt
            if child.process.exitcode != 0:
                raise MammosearchError(f"a trial process exited with code {child.process.exitcode}; finished trials are kept, run the same command to resume")
            if own_left is not None:
                own_left = max(0, own_left - started_here[0])
            if finished_trials(study) == done:
                return runtime_line  # the child could not add a trial (budget reached by other workers)
    except Terminated:
        if standby is not None:
            standby.process.terminate()  # no trial of its own yet: it only has to exit
        raise
    finally:
        if standby is not None:
            _retire(standby)
