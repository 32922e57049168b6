"""`mammosearch worker`: join a study that was set up, from any node, and run its trials.

The worker a cluster's scheduler starts (a SLURM array task, a Kubernetes indexed Job's
pod) and the processes of `run --workers N` are this one function. It knows only the
storage and the study's name: the space, the run options and the results folder come from
the order the set-up recorded in the study (``store/worker_order.py``), so a worker never
repeats set-up and never changes the study's space, as Optuna's workers run
``_optimize_sequential`` and never ``_optimize``. A worker started before the set-up has
finished waits for it, up to ``wait_setup`` seconds, saying so once. It stops when the
study's budget is reached, after ``n_trials`` trials of its own, or at its time limit, and
a worker that finds nothing left to do says so and succeeds.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna

from mammosearch.config.schema import Space
from mammosearch.config.space_json import space_from_json
from mammosearch.deadline import deadline_after
from mammosearch.errors import SpaceError, StorageError, StorageMissing
from mammosearch.search.identity import take_one_gpu, worker_session
from mammosearch.search.listener import StudyListener
from mammosearch.search.options import RunOptions, RunSummary
from mammosearch.spec.params import TrialParams
from mammosearch.store.journal import is_journal
from mammosearch.store.record import context_of
from mammosearch.store.record.worker_order import WorkerOrder, order_of
from mammosearch.store.storage import mask_url, open_storage

POLL_SECONDS = 2.0


@dataclasses.dataclass(frozen=True)
class JoinRequest:
    storage_url: str
    study_name: str
    results_dir: Path | None = None  # None: the folder the set-up recorded (a shared path on a cluster)
    n_trials: int | None = None  # this worker's own cap; the study's budget still stops it first
    timeout: float | None = None  # this worker's own time limit; None: the study's timeout, if any
    wait_setup: float = 600.0  # seconds to wait for a study that is not set up yet
    artifacts_url: str | None = None  # where this node sees the study's artifact store; None: where the set-up recorded it


@dataclasses.dataclass(frozen=True)
class WorkerResult:
    summary: RunSummary
    gpu: str | None  # the GPU this worker took; None on a CPU
    nothing_left: bool  # the study's budget was already reached: no trial was run
    heartbeat: int | None  # seconds; None: off (the journal storage has none)


class LogListener:
    """A worker's progress, one plain line per trial start and end, for a scheduler's log file."""

    def __init__(self, say: Callable[[str], None] = print) -> None:
        self.say = say

    def on_study_start(self, *args: Any, **kwargs: Any) -> None:
        pass  # the worker says what it joined itself

    def on_trial_start(self, number: int, params: TrialParams) -> None:
        self.say(f"trial {number} started: {params.to_json()}")

    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None:
        pass

    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None:
        self.say(f"trial {trial.number} {trial.state.name.lower()}: {trial.value}")


def _order_now(url: str, name: str) -> tuple[WorkerOrder | None, str]:
    """The study's order if it is set up, else None and what is missing (for the message of a wait that ran out)."""
    try:
        storage = open_storage(url, create=False)
    except StorageMissing:
        return None, "the storage does not exist yet"
    try:
        study_id = storage.get_study_id_from_name(name)
        attrs = storage.get_study_user_attrs(study_id)
    except KeyError:
        return None, f"the storage holds no study '{name}' yet"
    finally:
        engine = getattr(storage, "engine", None)  # a poll every few seconds: close its connections now, not at garbage collection
        if engine is not None:
            engine.dispose()
    order = order_of(attrs)
    if context_of(attrs).setup_data_key is None or order is None:
        return None, f"study '{name}' exists but its set-up has not finished (or was made by an older version: set it up again with this one)"
    return order, ""


def wait_for_order(url: str, name: str, wait: float, say: Callable[[str], None]) -> WorkerOrder:
    """The order of study ``name`` once its set-up has finished, polled every few seconds for up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    told = False
    while True:
        order, missing = _order_now(url, name)
        if order is not None:
            return order
        if time.monotonic() >= deadline:
            raise StorageError(f"study '{name}' in {mask_url(url)} is not set up ({missing}) after waiting {wait:g} s: "
                               "run `mammosearch run --setup-only` with its space first, or give --wait-setup more seconds")
        if not told:
            say(f"waiting up to {wait:g} s for study '{name}' in {mask_url(url)} to be set up (`mammosearch run --setup-only`): {missing}")
            told = True
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def _space_and_options(order: WorkerOrder, request: JoinRequest) -> tuple[Space, RunOptions]:
    if order.engine != "optuna":
        raise SpaceError(f"study '{request.study_name}' runs under --engine {order.engine}: its oracle lives in one process, so it takes no workers")
    space = space_from_json(order.space)
    if request.timeout is not None:
        space = dataclasses.replace(space, study=dataclasses.replace(space.study, timeout=request.timeout))
    # This worker's time budget counts from its start (its --timeout, else the study's), as `run --timeout` counts from the command's.
    options = RunOptions(
        deadline=deadline_after(space.study.timeout),
        storage_url=request.storage_url,
        results_dir=request.results_dir if request.results_dir is not None else Path(order.results_dir),
        study_name=request.study_name,
        tensorboard=order.tensorboard,
        precision=order.precision,
        heartbeat=None if is_journal(request.storage_url) else order.heartbeat,
        trials_per_process=order.trials_per_process,
        artifacts_url=request.artifacts_url,
    )
    return space, options


def join_study(request: JoinRequest, listener: StudyListener | None = None, say: Callable[[str], None] = print) -> WorkerResult:
    """Wait for the study's set-up, take one GPU, run trials until the budget, ``n_trials`` or the time limit; never sets anything up."""
    with worker_session():  # before any child is started: they report this worker, not themselves
        return _join(request, listener, say)


def _join(request: JoinRequest, listener: StudyListener | None, say: Callable[[str], None]) -> WorkerResult:
    from mammosearch.search.loop import run_trials
    from mammosearch.search.opened import open_prepared
    from mammosearch.search.run import recycles
    from mammosearch.search.study import summarize

    order = wait_for_order(request.storage_url, request.study_name, request.wait_setup, say)
    space, options = _space_and_options(order, request)
    gpu = take_one_gpu()  # before the backend is imported by the trial loop or its children
    prepared = open_prepared(space, options)
    remaining = prepared.remaining(space)
    if remaining == 0:
        return WorkerResult(summarize(prepared.study, options, prepared.finished_before, "no trial run"), gpu, True, options.heartbeat)
    share = request.n_trials if remaining is None else min(remaining, request.n_trials or remaining)
    if recycles(options, share):
        from mammosearch.search.recycling import run_recycled

        runtime_line = run_recycled(space, options, prepared.study, listener, max_trials=request.n_trials)
    else:
        runtime_line = run_trials(prepared, space, options, listener, max_trials=request.n_trials)
    return WorkerResult(summarize(prepared.study, options, prepared.finished_before, runtime_line), gpu, False, options.heartbeat)
