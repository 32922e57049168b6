"""`mammosearch run --workers N`: N worker processes on one study, on one machine.

This process sets the study up once (``study.setup_study``: preflight, fingerprint, space
check, baseline, and the order its workers rebuild their run from); each worker is
``mammosearch worker`` (``joining.py``), exactly what a cluster starts, which only opens the
prepared study and runs the trial loop (never the `run` command again). They
share the study through the storage (SQLite with a 30 s lock timeout here; PostgreSQL across
machines), so trial numbers stay unique and the budget is shared: a worker stops once the
study holds ``n_trials`` finished trials (a few trials already in flight may finish past
it). On a GPU machine each worker takes one GPU (its number modulo the visible GPUs,
``identity.take_one_gpu``); on a CPU the cores are split between the workers. Each worker's output goes to
``results/<study>/workers/worker-<i>.log``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna

from mammosearch.config import Space
from mammosearch.deadline import seconds_left
from mammosearch.errors import MammosearchError, SpaceError
from mammosearch.progress import stage
from mammosearch.search._identity import forget_worker, visible_gpus
from mammosearch.search._listener import StudyListener
from mammosearch.search.options import WORKER_ENV, RunOptions, RunSummary
from mammosearch.search.study import setup_study, summarize
from mammosearch.settings import STORAGE_ENV
from mammosearch.store import claimed_study_dir, open_storage
from mammosearch.store.artifact_store import ARTIFACTS_ENV
from mammosearch.store.record import from_user_attrs

# How long workers told to stop may take to fail and re-queue their trials (storage writes).
STOP_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class WorkerPlan:
    index: int
    env: dict[str, str]
    log: Path


def plan_workers(n: int, log_dir: Path, storage_url: str, artifacts_url: str | None = None) -> list[WorkerPlan]:
    gpus = visible_gpus()
    threads = max(1, (os.cpu_count() or 1) // n)
    plans = []
    for i in range(n):
        env = dict(os.environ)
        forget_worker(env)  # each worker is a worker of its own in the report
        env[WORKER_ENV] = str(i)  # its label in the report (search/identity.py) and the GPU it takes
        env[STORAGE_ENV] = storage_url  # in the environment, not the command line: `ps` shows no password
        if artifacts_url:
            env[ARTIFACTS_ENV] = artifacts_url  # where this machine sees the study's artifact store
        if not gpus:
            env["MAMMOSEARCH_THREADS"] = str(threads)
        plans.append(WorkerPlan(i, env, log_dir / f"worker-{i}.log"))
    return plans


def start_and_wait(command: list[str], plans: list[WorkerPlan], poll: Callable[[], None] | None = None) -> list[int]:
    """Start every worker (``command``, a whole command line), call ``poll`` every second while they run, return their exit codes."""
    processes = []
    for plan in plans:
        plan.log.parent.mkdir(parents=True, exist_ok=True)
        handle = plan.log.open("w")
        processes.append((subprocess.Popen(command, env=plan.env, stdout=handle, stderr=subprocess.STDOUT), handle))
    try:
        while any(p.poll() is None for p, _ in processes):
            if poll is not None:
                poll()
            time.sleep(1.0)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (errors.Terminated)
        for process, _ in processes:
            process.terminate()  # SIGTERM: each worker fails and re-queues its trial in progress (search/termination.py)
        stop_by = time.monotonic() + STOP_WAIT_SECONDS
        for process, _ in processes:  # before this process exits: a pod's stop or a job's end would take them with it
            try:
                process.wait(timeout=max(0.1, stop_by - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
        raise
    finally:
        for _, handle in processes:
            handle.close()
    if poll is not None:
        poll()
    return [p.returncode for p, _ in processes]


class _Watcher:
    """Polls the shared study and tells the listener about each trial a worker finishes."""

    def __init__(self, options: RunOptions, name: str, listener: StudyListener | None) -> None:
        self.options, self.name, self.listener = options, name, listener
        self.seen: set[int] = set()
        self.study: optuna.Study | None = None
        self.finished_before = 0

    def poll(self) -> None:
        if self.study is None:
            try:
                self.study = optuna.load_study(study_name=self.name, storage=open_storage(self.options.storage_url))
            except KeyError:
                return  # the first worker has not created it yet
        for trial in self.study.get_trials(deepcopy=False):
            if trial.number in self.seen or not trial.state.is_finished():
                continue
            self.seen.add(trial.number)
            outcome = from_user_attrs(trial.user_attrs)
            if self.listener is not None and outcome.params is not None:
                self.listener.on_trial_start(trial.number, outcome.params)
                self.listener.on_trial_end(trial)


def run_workers(space: Space, options: RunOptions, listener: StudyListener | None) -> RunSummary:
    """Set the study up once, start ``options.workers`` processes on it, show their trials as they finish, wait for all."""
    if options.engine == "kerastuner":
        raise SpaceError("--workers works with the optuna engine; KerasTuner's oracle lives in one process")
    options = dataclasses.replace(options, study_name=options.study_name or space.study_name)
    # Everything that would fail every worker fails here, once; the space is settled and
    # the context recorded before any worker starts.
    prepared = setup_study(space, options)
    name = prepared.study.study_name
    plans = plan_workers(options.workers, claimed_study_dir(options.results_dir, prepared.study).workers_dir(), options.storage_url, options.artifacts_url)
    watcher = _Watcher(options, name, listener)
    watcher.seen = {t.number for t in prepared.study.get_trials(deepcopy=False) if t.state.is_finished()}
    watcher.finished_before = prepared.finished_before
    if listener is not None:
        listener.on_study_start(name, watcher.finished_before, space.study.n_trials,
                                f"{options.workers} worker processes, logs in {plans[0].log.parent}/", prepared.notes)
    # Each is `mammosearch worker`, as a cluster starts them: it rebuilds the run from the order the set-up recorded in
    # the study, and gets what is left of the whole command's time budget as its --timeout.
    command = [sys.executable, "-m", "mammosearch.cli", "worker", "--study", name, "--results-dir", str(Path(options.results_dir).resolve()), "--wait-setup", "0"]
    left = seconds_left(options.deadline)
    if left is not None:
        command += ["--timeout", f"{max(1.0, left):.3f}"]
    with stage(f"trials in {options.workers} workers"):  # their own stages are timed in their logs
        codes = start_and_wait(command, plans, watcher.poll)
    failed = [i for i, code in enumerate(codes) if code != 0]
    if failed:
        raise MammosearchError(f"worker(s) {', '.join(map(str, failed))} exited with an error; see {plans[failed[0]].log}")
    study = optuna.load_study(study_name=name, storage=open_storage(options.storage_url))
    return summarize(study, options, watcher.finished_before, f"{options.workers} worker processes")
