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

from mammosearch.config import Space, space_from_json
from mammosearch.deadline import deadline_after
from mammosearch.errors import SpaceError, StorageError, StorageMissing
from mammosearch.search._identity import current_stamp, take_one_gpu, worker_session
from mammosearch.search._listener import StudyListener
from mammosearch.search._order_watch import new_order
from mammosearch.search._termination import stop_on_sigterm
from mammosearch.search.options import RunOptions, RunSummary
from mammosearch.spec import TrialParams
from mammosearch.store import fail_stale_trials, mask_url, open_storage
from mammosearch.store.record import WorkerOrder, context_of, order_of, stamp_of

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
    heartbeat: int | None  # seconds; None: off (`run --heartbeat 0`)


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


def _space_and_options(order: WorkerOrder, request: JoinRequest, deadline: float | None) -> tuple[Space, RunOptions]:
    if order.engine != "optuna":
        raise SpaceError(f"study '{request.study_name}' runs under --engine {order.engine}: its oracle lives in one process, so it takes no workers")
    space = space_from_json(order.space)
    if request.timeout is not None:
        space = dataclasses.replace(space, study=dataclasses.replace(space.study, timeout=request.timeout))
    options = RunOptions(
        deadline=deadline,
        storage_url=request.storage_url,
        results_dir=request.results_dir if request.results_dir is not None else Path(order.results_dir),
        study_name=request.study_name,
        tensorboard=order.tensorboard,
        precision=order.precision,
        heartbeat=order.heartbeat,  # a journal file's beats are files next to it (store/journal_beats.py)
        trials_per_process=order.trials_per_process,
        artifacts_url=request.artifacts_url,
        order_token=order.token,  # between trials, a new set-up's order is noticed (order_watch.py)
    )
    return space, options


def _own_trials(study: optuna.Study) -> int:
    """Trials this worker started (its stamp; a re-queued copy of one is not until it runs)."""
    mine = current_stamp()
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state != optuna.trial.TrialState.WAITING and stamp_of(t.user_attrs) == mine)


def join_study(request: JoinRequest, listener: StudyListener | None = None, say: Callable[[str], None] = print) -> WorkerResult:
    """Wait for the study's set-up, take one GPU, run trials until the budget, ``n_trials`` or the time limit; never sets anything up."""
    # SIGTERM (scancel, pre-emption, a pod's stop) fails and re-queues the trial in progress at once (termination.py).
    with worker_session(), stop_on_sigterm():  # before any child is started: they report this worker, not themselves
        return _join(request, listener, say)


def _join(request: JoinRequest, listener: StudyListener | None, say: Callable[[str], None]) -> WorkerResult:
    from mammosearch.search.loop import run_trials
    from mammosearch.search.opened import open_prepared
    from mammosearch.search.run import recycles
    from mammosearch.search.study import summarize

    order = wait_for_order(request.storage_url, request.study_name, request.wait_setup, say)
    # This worker's time budget counts from its start (its --timeout, else the study's), as `run --timeout` counts from the command's.
    deadline = deadline_after(request.timeout if request.timeout is not None else space_from_json(order.space).study.timeout)
    gpu = take_one_gpu()  # before the backend is imported by the trial loop or its children
    finished_before: int | None = None
    runtime_line = "no trial run"
    while True:
        space, options = _space_and_options(order, request, deadline)
        prepared = open_prepared(space, options)
        finished_before = prepared.finished_before if finished_before is None else finished_before
        fail_stale_trials(prepared.study)  # at start too, not only before each trial: a dead worker's trial is re-queued even if this one runs none
        remaining = prepared.remaining(space)
        own_left = None if request.n_trials is None else max(0, request.n_trials - _own_trials(prepared.study))
        if remaining == 0 or own_left == 0:
            first = runtime_line == "no trial run"
            return WorkerResult(summarize(prepared.study, options, finished_before, runtime_line), gpu, first and remaining == 0, options.heartbeat)
        share = own_left if remaining is None else min(remaining, own_left or remaining)
        if recycles(options, share):
            from mammosearch.search._recycling import run_recycled

            runtime_line = run_recycled(space, options, prepared.study, listener, max_trials=own_left)
        else:
            runtime_line = run_trials(prepared, space, options, listener, max_trials=own_left)
        newer = new_order(prepared.study.user_attrs, order.token)
        if newer is None:
            return WorkerResult(summarize(prepared.study, options, finished_before, runtime_line), gpu, False, options.heartbeat)
        say(f"study '{request.study_name}' was set up again ({newer.describe()}) while this worker ran: it goes on under the new order")
        order = newer
