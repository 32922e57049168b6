"""How a run was asked for (:class:`RunOptions`) and what it did (:class:`RunSummary`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("optuna", "kerastuner")
# Set by `run --workers N` in each worker's environment: its number, 0..N-1, recorded with its trials.
WORKER_ENV = "MAMMOSEARCH_WORKER"
ALGORITHMS = ("hyperband", "bayesian", "random")
# The storage URL `mammosearch worker` uses when no --storage is given: how a job script or a
# Kubernetes secret passes a password without putting it on a command line.


@dataclass(frozen=True)
class RunOptions:
    storage_url: str
    results_dir: Path
    study_name: str | None = None
    tensorboard: bool = False
    precision: str = "float32"
    heartbeat: int | None = 60  # seconds; None turns crash detection off
    trials_per_process: int | None = 20  # recycle the training process this often; None: all in-process
    engine: str = "optuna"
    algorithm: str = "hyperband"  # KerasTuner's oracle, with engine "kerastuner"
    workers: int = 1
    # Resume a study whose search space differs from the recorded one (the change is recorded).
    extend_space: bool = False
    # Assemble the kept heads' full models when the trials are done. A recycled child that
    # is not the run's last leaves them to the last one (each assembly builds and writes a
    # whole backbone, seconds during which no trial runs).
    assemble_at_end: bool = True
    # The whole command's time budget as a wall-clock deadline (``time.time()``), set when
    # the command starts (``--timeout``/study.timeout): set-up, probes and trials all count,
    # and recycled children and workers receive it with these options, so they get what is left.
    deadline: float | None = None
    # Set the study up (and record what its workers run) and stop: `mammosearch worker` runs the trials.
    setup_only: bool = False
    # `--artifacts`: the study's artifact store (recorded at set-up), or where this node sees the recorded one.
    artifacts_url: str | None = None
    # A worker's: the token of the set-up's order it runs under; between trials it stops when
    # the study holds another (search/order_watch.py). None: not a worker, nothing to watch.
    order_token: str | None = None


@dataclass(frozen=True)
class RunSummary:
    study_name: str
    storage_url: str  # masked
    new_trials: int
    finished_trials: int
    best_number: int | None
    best_value: float | None
    data_description: str
    runtime: str
    notes: tuple[str, ...] = ()
    # The best trial's AUCs, each (name, figure with its own interval): under cross-validation
    # the mean fold AUC that ranked it and the pooled out-of-fold AUC (metrics/figures.py).
    best_figures: tuple[tuple[str, str], ...] = ()
    # Whether the best trial beat the study's trivial baseline: above, within or below its 95% CI.
    baseline_verdict: str | None = None
    # Trials the time budget stopped at an epoch boundary, queued to be trained in full by the next run.
    stopped_by_budget: int = 0


def worker_number() -> int | None:
    """This process's number under `run --workers N`; None for a run of its own."""
    value = os.environ.get(WORKER_ENV, "")
    return int(value) if value.isdigit() else None
