"""The command line: parse, call one function, print with rich. Nothing else lives here.

This is the only place that turns a :class:`MammosearchError` into a red one-line
message and a non-zero exit code.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mammosearch import runtime
from mammosearch.errors import MammosearchError
from mammosearch.store.storage import DEFAULT_STORAGE

runtime.quiet_backend_logs()

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Hyper-parameter and architecture search for benign-vs-malignant mammogram classifiers.",
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

StorageOption = Annotated[str, typer.Option("--storage", help="Optuna storage URL (SQLite file, PostgreSQL, ...).")]
StudyOption = Annotated[str | None, typer.Option("--study", help="Study name. run: default is the space's study.name or file name; report/export: the most recent study.")]
ResultsOption = Annotated[Path, typer.Option("--results-dir", help="Where trial models, reports and logs are written.")]


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class Engine(str, Enum):
    optuna = "optuna"
    kerastuner = "kerastuner"


class Algorithm(str, Enum):
    hyperband = "hyperband"
    bayesian = "bayesian"
    random = "random"


class Precision(str, Enum):
    float32 = "float32"
    mixed = "mixed"


def friendly_errors(command: F) -> F:
    """One red line and an exit code for every expected error; never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except MammosearchError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted:[/] finished trials are kept; run the same command again to resume.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@friendly_errors
def run(
    ctx: typer.Context,
    space: Annotated[Path | None, typer.Option("--space", "-s", help="YAML search space; default: the built-in demo (search_spaces/demo.yaml).")] = None,
    storage: StorageOption = DEFAULT_STORAGE,
    study: StudyOption = None,
    n_trials: Annotated[int | None, typer.Option("--n-trials", min=1, help="Override study.n_trials (finished trials count towards it).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", min=1, help="Override study.timeout, in seconds.")] = None,
    results_dir: ResultsOption = Path("results"),
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="Write per-trial TensorBoard logs with hyper-parameters under results/<study>/tb/.")] = False,
    precision: Annotated[Precision, typer.Option("--precision", help="mixed: float16 (GPU) / bfloat16 (CPU) compute, float32 output.")] = Precision.float32,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space, e.g. --set model.weights=none (repeatable).")] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="optuna (sampler + pruner from the space) or kerastuner.")] = Engine.optuna,
    algorithm: Annotated[Algorithm, typer.Option("--algorithm", help="With --engine kerastuner: hyperband, bayesian or random.")] = Algorithm.hyperband,
    heartbeat: Annotated[int, typer.Option("--heartbeat", min=0, help="Seconds between a running trial's heartbeats; a trial silent for two intervals (its process died) is failed and retried. 0: off.")] = 60,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes on this machine sharing the study (one GPU each, or the CPU cores split).")] = 1,
    trials_per_process: Annotated[int, typer.Option("--trials-per-process", min=0, help="Longer runs train in a child process replaced after this many trials, so memory stays flat. 0: all trials in this process.")] = 20,
) -> None:
    """Run (or resume) a search: sample trials, train, prune, record every metric."""
    import optuna

    from mammosearch.config.reader import load_space
    from mammosearch.config.schema import with_overrides
    from mammosearch.report.progress import RichStudyListener
    from mammosearch.search.options import RunOptions
    from mammosearch.search.run import run_study

    # Each trial's outcome is printed by the progress display; Optuna's own log lines
    # (with a traceback for every failed trial) would only repeat it.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    loaded = with_overrides(load_space(space, overrides or ()), n_trials=n_trials, timeout=timeout)
    options = RunOptions(
        storage_url=storage, results_dir=results_dir, study_name=study or (loaded.study_name if workers > 1 else None),
        tensorboard=tensorboard, precision=precision.value, heartbeat=heartbeat or None,
        trials_per_process=trials_per_process or None, engine=engine.value, algorithm=algorithm.value, workers=workers,
        worker_argv=tuple(worker_argv(ctx, study=study or loaded.study_name)) if workers > 1 else (),
    )
    with RichStudyListener(console) as listener:
        summary = run_study(loaded, options, listener)
    best = "none yet" if summary.best_number is None else f"trial {summary.best_number}, validation AUC {summary.best_value:.4f}"
    console.print(
        f"[bold]study[/] {escape(summary.study_name)} in {escape(summary.storage_url)}: "
        f"{summary.new_trials} new trial(s), {summary.finished_trials} finished; best: {best}"
    )
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    console.print(f"next: [cyan]mammosearch report --study {escape(summary.study_name)}[/]")


def worker_argv(ctx: typer.Context, **replaced: Any) -> list[str]:
    """The `run` command line of one worker: every option this command got, then ``--workers 1``.

    Built from the parsed parameters themselves, so an option added to `run` reaches the
    workers without anyone remembering to pass it on.
    """
    values = {**ctx.params, **replaced, "workers": 1}
    argv = ["run"]
    for param in ctx.command.params:
        # Options only (typer carries its own copy of click, so no isinstance on click's class).
        if getattr(param, "param_type_name", None) != "option" or param.name is None:
            continue
        value = values.get(param.name)
        flag = max(param.opts, key=len)  # the long form
        is_flag, multiple = getattr(param, "is_flag", False), getattr(param, "multiple", False)
        if value is None or (is_flag and not value):
            continue
        if is_flag:
            argv.append(flag)
        elif multiple:
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value.value if isinstance(value, Enum) else value)]
    return argv


@app.command()
@friendly_errors
def report(
    study: StudyOption = None,
    storage: StorageOption = DEFAULT_STORAGE,
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the best trials to list and plot.")] = 10,
    format: Annotated[Format, typer.Option("--format", help="table (rich), csv or json on stdout; files are written either way.")] = Format.table,
    results_dir: ResultsOption = Path("results"),
) -> None:
    """Leaderboard ranked by validation AUC with every metric; writes CSV, JSON and plots."""
    from mammosearch.report.leaderboard import build_report, report_json_text
    from mammosearch.report.view import print_report
    from mammosearch.store.results import load_study

    record = load_study(storage, study)
    built = build_report(record, results_dir, top_k=top)
    if format is Format.json:
        sys.stdout.write(report_json_text(built) + "\n")
    elif format is Format.csv:
        sys.stdout.write(built.leaderboard.to_csv(index=False))
    else:
        print_report(console, built)


@app.command("export-best")
@friendly_errors
def export_best(
    study: StudyOption = None,
    storage: StorageOption = DEFAULT_STORAGE,
    out: Annotated[Path, typer.Option("--out", help="Folder for model.keras, model_card.json and predictions.json.")] = Path("exported"),
    trial: Annotated[int | None, typer.Option("--trial", help="Export this trial instead of the best one.")] = None,
) -> None:
    """Write the best trial's trained model and its model card (no retraining)."""
    from mammosearch.report.export import export_best as do_export
    from mammosearch.store.results import load_study

    runtime.import_keras_quietly()
    record = load_study(storage, study)
    result = do_export(record, out, trial)
    console.print(f"exported trial {result.trial} (validation AUC {result.value:.4f}) of study {escape(record.name)}:")
    for path in (result.model_file, result.card_file, result.predictions_file):
        if path is not None:
            console.print(f"  {escape(str(path))}")


@app.command()
@friendly_errors
def validate(
    space: Annotated[Path, typer.Option("--space", "-s", help="YAML search space to check.")],
) -> None:
    """Check a search space without training anything."""
    from mammosearch.config.reader import load_space

    loaded = load_space(space)
    console.print(f"[green]ok[/] {escape(str(space))}: study '{escape(loaded.study_name)}', families {', '.join(loaded.model.families)}, "
                  f"{loaded.study.n_trials} trials, sampler {loaded.study.sampler}, pruner {loaded.study.pruner.name}")


data_app = typer.Typer(no_args_is_help=True, help="Look at and fetch the images a search trains on.")
app.add_typer(data_app, name="data")


@data_app.command("inspect")
@friendly_errors
def data_inspect(
    space: Annotated[Path | None, typer.Option("--space", "-s", help="YAML search space whose `data` section to load; default: the built-in demo.")] = None,
    results_dir: ResultsOption = Path("results"),
    per_class: Annotated[int, typer.Option("--per-class", min=1, max=32, help="Sample images per class in the PNG grid.")] = 8,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space, e.g. --set data.photometry=as_is (repeatable).")] = None,
) -> None:
    """Counts per class, patient and split, the leakage check, the data fingerprint, and a PNG of sample images."""
    from mammosearch.config.reader import load_space
    from mammosearch.data.fingerprint import cached_fingerprint
    from mammosearch.data.loading import load_image_set
    from mammosearch.files import write_json
    from mammosearch.report.data_summary import sample_grid, summarize
    from mammosearch.report.fingerprint_view import print_fingerprint
    from mammosearch.report.view import print_data_summary
    from mammosearch.store.artifacts import StudyDir

    loaded = load_space(space, overrides or ())
    images = load_image_set(loaded.data, loaded.split, cache_dir=results_dir / "cache", checks=loaded.checks)
    fingerprint = cached_fingerprint(images, loaded.checks, results_dir / "cache")
    folder = StudyDir(results_dir, loaded.study_name).data_dir()
    grid = sample_grid(images, folder / "samples.png", per_class=per_class)
    saved = write_json(folder / "fingerprint.json", fingerprint)
    print_data_summary(console, summarize(images), loaded.evaluation.cv_folds)
    print_fingerprint(console, fingerprint)
    console.print(f"sample grid: {escape(str(grid))}\nfingerprint: {escape(str(saved))}")


class Dataset(str, Enum):
    mini_mias = "mini-mias"


@data_app.command("fetch")
@friendly_errors
def data_fetch(
    dataset: Annotated[Dataset, typer.Argument(help="Which public data set.")],
    dest: Annotated[Path | None, typer.Option("--dest", help="Where to unpack; default: where the loader looks ($MAMMOSEARCH_DATA/mini-mias or ~/.cache/mammosearch/mini-mias).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Archive URL (a mirror, or file:// for a local copy).")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="Expected checksum of the archive; refused if it differs.")] = None,
) -> None:
    """Download, verify and unpack a public data set where its loader finds it."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from mammosearch.data.fetch import fetch_mini_mias

    with Progress("[bold]download", BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console) as bar:
        task = bar.add_task("download", total=None)
        folder = fetch_mini_mias(dest, url, sha256, lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"mini-MIAS is in {escape(str(folder))}; `data: {{source: mias}}` finds it there by default")


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
