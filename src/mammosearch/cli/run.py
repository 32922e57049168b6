"""`mammosearch run` (and `run --setup-only`, which prints the `mammosearch worker` command to start)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mammosearch.cli.app import (
    SEARCH,
    Algorithm,
    ArtifactsOption,
    Engine,
    Precision,
    ResultsOption,
    StorageOption,
    StudyOption,
    app,
    console,
    friendly_errors,
    next_hint,
    print_next,
    resolve_storage,
)
from mammosearch.words import plural


@app.command(rich_help_panel=SEARCH)
@friendly_errors
def run(
    ctx: typer.Context,
    space: Annotated[Path | None, typer.Option("--space", "-s", help="YAML search space; default: the built-in demo (search_spaces/demo.yaml).")] = None,
    storage: StorageOption = None,
    study: StudyOption = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Override study.n_trials (finished trials count towards it).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=1, help="Override study.timeout, in seconds: the budget of the whole command, set-up included. A trial that would overrun it stops at an epoch boundary and the next run trains it in full.")] = None,
    results_dir: ResultsOption = Path("results"),
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="Write per-trial TensorBoard logs with hyper-parameters under results/<study>/tb/.")] = False,
    precision: Annotated[Precision, typer.Option("--precision", help="mixed: float16 (GPU) / bfloat16 (CPU) compute, float32 output.")] = Precision.float32,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space, e.g. --set model.weights=none (repeatable).")] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="optuna (sampler + pruner from the space) or kerastuner.")] = Engine.optuna,
    algorithm: Annotated[Algorithm, typer.Option("--algorithm", help="With --engine kerastuner: hyperband, bayesian or random.")] = Algorithm.hyperband,
    heartbeat: Annotated[int, typer.Option("--heartbeat", min=0, help="Seconds between a running trial's heartbeats; a trial silent for two intervals (its process died) is failed and retried. 0: off.")] = 60,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes on this machine sharing the study (one GPU each, or the CPU cores split).")] = 1,
    trials_per_process: Annotated[int, typer.Option("--trials-per-process", min=0, help="Longer runs train in a child process replaced after this many trials, so memory stays flat. 0: all trials in this process.")] = 20,
    extend_space: Annotated[bool, typer.Option("--extend-space", help="Resume a study whose search space has changed: its new trials use the new space, and the change is recorded in the study.")] = False,
    setup_only: Annotated[bool, typer.Option("--setup-only", help="Set the study up (data checks, baseline, space) and exit without a trial; prints the `mammosearch worker` command a cluster runs.")] = False,
    artifacts: ArtifactsOption = None,
) -> None:
    """Run (or resume) a search: sample trials, train, prune, record every metric."""
    import time

    started = time.time()  # --timeout counts from here: the whole command is the budget
    import optuna

    from mammosearch.config import load_space, with_overrides
    from mammosearch.deadline import deadline_after
    from mammosearch.progress import reporting
    from mammosearch.report import RichStudyListener, time_summary
    from mammosearch.search import RunOptions, describe_pruner, run_study

    # Each trial's outcome is printed by the progress display; Optuna's own log lines
    # (with a traceback for every failed trial) would only repeat it.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    loaded = with_overrides(load_space(space, overrides or ()), n_trials=n_trials, timeout=timeout)
    storage_url = resolve_storage(storage, results_dir)
    options = RunOptions(
        storage_url=storage_url, results_dir=results_dir, study_name=study or (loaded.study_name if workers > 1 or setup_only else None),
        tensorboard=tensorboard, precision=precision.value, heartbeat=heartbeat or None,
        trials_per_process=trials_per_process or None, engine=engine.value, algorithm=algorithm.value, workers=workers,
        extend_space=extend_space, setup_only=setup_only, artifacts_url=artifacts,  # workers read the rest from the order the set-up records
        deadline=deadline_after(loaded.study.timeout, started),
    )
    if setup_only:
        summary = run_study(loaded, options)
        console.print(f"[bold]study[/] {escape(summary.study_name)} in {escape(summary.storage_url)} is set up "
                      f"({plural(summary.finished_trials, 'finished trial')}); start its workers, on any node, with:", soft_wrap=True)
        print_next(worker_hint(summary.study_name, storage_url, results_dir))
        return
    with RichStudyListener(console) as listener, reporting(listener) as timeline:
        summary = run_study(loaded, options, listener)
    # Each of the best trial's AUCs with its own name and interval (under CV the mean fold AUC
    # and the pooled out-of-fold AUC differ), then whether it beat the study's trivial baseline.
    figures = "; ".join(f"{name} {figure}" for name, figure in summary.best_figures) or f"{summary.best_value or 0:.4f}"
    # A run can end with no complete trial (all failed, or stopped by the time budget).
    best = "none yet" if summary.best_number is None else f"trial {summary.best_number}, {figures}"
    console.print(
        f"[bold]study[/] {escape(summary.study_name)} in {escape(summary.storage_url)}: "
        f"{plural(summary.new_trials, 'new trial')}, {summary.finished_trials} finished; best: {escape(best)}"
    )
    if summary.baseline_verdict is not None:
        console.print(f"against the trivial baseline: {escape(summary.baseline_verdict)}")
    if engine == Engine.optuna:
        console.print(f"pruner: {escape(describe_pruner(loaded))}")  # which trials a trial was compared with
    if summary.stopped_by_budget:
        console.print(f"[yellow]{plural(summary.stopped_by_budget, 'trial')} stopped by the time budget[/] at an epoch boundary "
                      "(not ranked); run the same command to train it in full")
    console.print(escape(time_summary(timeline.stages(), time.time() - started, loaded.study.timeout)), soft_wrap=True)
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    print_next(next_hint("report", study=summary.study_name, storage=storage_url, results_dir=results_dir))


def worker_hint(study: str, storage: str, results_dir: Path) -> str:
    """The `mammosearch worker` line for a study: storage masked, results folder absolute (a worker may start in any folder)."""
    import shlex

    from mammosearch.store import absolute_storage, mask_url

    return shlex.join(["mammosearch", "worker", "--study", study, "--storage", mask_url(absolute_storage(storage)), "--results-dir", str(Path(results_dir).resolve())])
