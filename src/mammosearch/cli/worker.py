"""`mammosearch worker`: one of a cluster's workers on a study that `run --setup-only` (or `run`) prepared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mammosearch.cli.app import SEARCH, ArtifactsOption, app, console, friendly_errors
from mammosearch.settings import STORAGE_ENV
from mammosearch.words import plural


@app.command(rich_help_panel=SEARCH)
@friendly_errors
def worker(
    study: Annotated[str, typer.Option("--study", help="The study to join, as `run --setup-only` named it.")],
    storage: Annotated[str | None, typer.Option(
        "--storage", envvar=STORAGE_ENV, show_envvar=True, show_default=False,
        help="The study's storage: postgresql://..., sqlite:///..., or journal:///shared/path.log (no database server). "
             "Default: $MAMMOSEARCH_STORAGE (keeps a password off the command line), else sqlite:///<results-dir>/mammosearch.db.")] = None,
    results_dir: Annotated[Path | None, typer.Option(
        "--results-dir", help="The study's results folder (shared by every node); default: the one its set-up recorded.")] = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Stop after this many trials of this worker's own (the study's budget stops it first).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=1, help="Start no trial after this many seconds (default: the study's timeout, if it has one).")] = None,
    wait_setup: Annotated[float, typer.Option("--wait-setup", min=0, help="Seconds to wait for a study whose set-up has not finished yet.")] = 600.0,
    artifacts: ArtifactsOption = None,
) -> None:
    """Join a prepared study and run its trials until its budget is reached (one GPU per worker; exits 0 when nothing is left)."""
    import optuna

    from mammosearch.progress import reporting
    from mammosearch.progress_lines import PlainLines
    from mammosearch.search import JoinRequest, LogListener, join_study
    from mammosearch.store import default_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # one line per trial from the listener; Optuna's would repeat it

    def say(line: str) -> None:
        console.print(escape(line), highlight=False, soft_wrap=True)

    url = storage if storage is not None else default_storage(results_dir or Path("results"))
    request = JoinRequest(url, study, results_dir, n_trials, timeout, wait_setup, artifacts)
    with reporting(PlainLines(say)):  # long stages (loading Keras, a linear probe, activations) as plain lines in the log
        result = join_study(request, LogListener(say), say)
    summary = result.summary
    device = f"GPU {result.gpu}" if result.gpu is not None else "CPU"
    if result.nothing_left:
        say(f"study {summary.study_name}: nothing left to do, its budget is reached ({plural(summary.finished_trials, 'finished trial')})")
        return
    best = "none yet" if summary.best_number is None else f"trial {summary.best_number}, {summary.best_value:.4f}"
    beats = f"heartbeat every {result.heartbeat} s" if result.heartbeat else "no heartbeat"
    say(f"study {summary.study_name} in {summary.storage_url}: {plural(summary.finished_trials, 'finished trial')} "
        f"({summary.new_trials} since this worker started, on {device}, {beats}); best: {best}")
    say(summary.runtime)
