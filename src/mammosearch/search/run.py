"""``run_study``: the one dispatch, as optuna's ``study/_optimize.py`` does it.

It chooses how the trials run: several worker processes (``--workers``), the KerasTuner
engine, recycled child processes (a long run), or this process. Each of those calls the
trial loop (``loop.run_trials``) or KerasTuner's, never this function again.
"""

from __future__ import annotations

import dataclasses

import optuna

from mammosearch.config.schema import Space
from mammosearch.deadline import deadline_after
from mammosearch.errors import SpaceError
from mammosearch.search.identity import worker_session
from mammosearch.search.listener import StudyListener
from mammosearch.search.options import RunOptions, RunSummary
from mammosearch.search.study import Prepared, check_options, engine_study_name, setup_study, summarize
from mammosearch.search.termination import stop_on_sigterm
from mammosearch.store.record import STOPPED_BY_BUDGET, STOPPED_BY_TIMEOUT, RunEnd, save_run_end
from mammosearch.store.storage import open_storage


def announce(listener: StudyListener | None, prepared: Prepared, space: Space) -> None:
    if listener is not None:
        listener.on_study_start(prepared.study.study_name, prepared.finished_before, space.study.n_trials, prepared.images.description, prepared.notes)


def recycles(options: RunOptions, remaining: int | None) -> bool:
    """A run longer than ``trials_per_process`` trains in child processes replaced that often."""
    return options.trials_per_process is not None and (remaining is None or remaining > options.trials_per_process)


def run_study(space: Space, options: RunOptions, listener: StudyListener | None = None) -> RunSummary:
    """Run (or resume) the study of ``space`` as ``options`` say; returns what it did.

    ``study.timeout`` is the budget of this whole call, set-up included, unless
    ``options.deadline`` was set earlier (the CLI sets it when the command starts).
    """
    check_options(options)
    if options.deadline is None and space.study.timeout is not None:
        options = dataclasses.replace(options, deadline=deadline_after(space.study.timeout))
    if options.setup_only:
        return _setup_only(space, options, listener)
    # Recycled children report this run as the one worker that ran their trials; SIGTERM
    # fails and re-queues the trial in progress, as in a cluster's worker (termination.py).
    with worker_session(), stop_on_sigterm():
        summary = _dispatch(space, options, listener)
    record_run_end(space, options, summary)
    return summary


def _setup_only(space: Space, options: RunOptions, listener: StudyListener | None) -> RunSummary:
    """Set the study up for `mammosearch worker` processes started elsewhere (a SLURM array, a Kubernetes Job); run no trial."""
    if options.engine == "kerastuner" or options.workers > 1:
        raise SpaceError("--setup-only prepares a study for `mammosearch worker`: it takes neither --engine kerastuner nor --workers")
    options = dataclasses.replace(options, study_name=options.study_name or space.study_name)
    prepared = setup_study(space, options)
    return summarize(prepared.study, options, prepared.finished_before, "set up only: no trial run")


def record_run_end(space: Space, options: RunOptions, summary: RunSummary) -> None:
    """Whether this run stopped on its time limit or its trial budget, for `report` to say.

    A run that returns normally (Ctrl-C and errors do not get here) without reaching its
    trial budget was stopped by its time limit: Optuna's ``timeout`` or, in recycled
    children, the deadline left too little time to start another process.
    """
    study = optuna.load_study(study_name=summary.study_name, storage=open_storage(options.storage_url))
    timeout, budget = space.study.timeout, space.study.n_trials
    finished = summary.finished_trials  # counted by summarize() a moment ago
    timed_out = timeout is not None and (budget is None or finished < budget)
    save_run_end(study, RunEnd(STOPPED_BY_TIMEOUT if timed_out else STOPPED_BY_BUDGET, timeout, finished))


def _dispatch(space: Space, options: RunOptions, listener: StudyListener | None) -> RunSummary:
    if options.workers > 1:
        from mammosearch.search.workers import run_workers

        return run_workers(space, options, listener)
    options = engine_study_name(space, options)
    # Not overlapped with the Keras import in a thread: tried, and on 2 cores the GIL made
    # set-up as much slower (trivial baseline 0.1 -> 4.0 s) as the import got faster
    # (benchmarks/demo_vs.py, in the closing note of issue 22).
    prepared = setup_study(space, options)
    announce(listener, prepared, space)
    if options.engine == "kerastuner":
        from mammosearch.search.kerastuner import run_kerastuner_trials

        runtime_line = run_kerastuner_trials(prepared, space, options, listener)
    elif recycles(options, prepared.remaining(space)):
        from mammosearch.search.recycling import run_recycled

        # This process only coordinates: TensorFlow is loaded by the training processes
        # alone (its import is ~4 s of start-up and ~0.5 GB this process does not need).
        runtime_line = run_recycled(space, options, prepared.study, listener)
    else:
        from mammosearch.search.loop import run_trials

        runtime_line = run_trials(prepared, space, options, listener)
    return summarize(prepared.study, options, prepared.finished_before, runtime_line)


def run_kerastuner(space: Space, options: RunOptions, algorithm: str, listener: StudyListener | None = None) -> RunSummary:
    """Run (or resume) a search with KerasTuner's ``algorithm`` deciding the hyper-parameters."""
    return run_study(space, dataclasses.replace(options, engine="kerastuner", algorithm=algorithm), listener)
