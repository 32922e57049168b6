"""The typer application, its console, the options several commands share, and the error boundary.

The command line (this package) is the only place that turns a :class:`MammosearchError`
into a red one-line message and a non-zero exit code.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mammosearch import runtime
from mammosearch.errors import MammosearchError, Terminated
from mammosearch.settings import ARTIFACTS_ENV

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

# The groups `mammosearch --help` lists the commands in, in the order a user meets them.
SEARCH = "Search"
AFTER = "Use what was found"
SETUP = "Data and weights"

StorageOption = Annotated[str | None, typer.Option(
    "--storage", help="Optuna storage URL (SQLite file, PostgreSQL, ...); default: sqlite:///<results-dir>/mammosearch.db.",
    show_default=False)]
StudyOption = Annotated[str | None, typer.Option("--study", help="Study name. run: default is the space's study.name or file name; report/export: the most recent study.")]
ResultsOption = Annotated[Path, typer.Option("--results-dir", help="Where trial models, reports, logs and (without --storage) the study's SQLite file are kept.")]
DEFAULT_RESULTS = Path("results")
ArtifactsOption = Annotated[str | None, typer.Option(
    "--artifacts", envvar=ARTIFACTS_ENV, show_envvar=True, show_default=False,
    help="Artifact store for the kept models, for nodes that share no results folder: file:///shared/folder or s3://bucket/prefix "
         "(endpoint and credentials from the AWS environment, never the URL). Recorded in the study at set-up; readers and workers "
         "find it there, and this option says where this node sees it. Default: none (the results folder alone).")]


def resolve_storage(storage: str | None, results_dir: Path) -> str:
    """The storage a command uses: ``--storage`` when given, else the SQLite file inside ``--results-dir``.

    Every command with both options calls this, so ``--results-dir X`` alone finds the
    study that ``run --results-dir X`` wrote.
    """
    from mammosearch.store import default_storage  # here, not at the top: `--help` and every command start without the storage code

    return storage if storage is not None else default_storage(results_dir)


def next_hint(command: str, *, study: str | None, storage: str, results_dir: Path) -> str:
    """The ``mammosearch <command>`` line to run next, with every non-default flag it needs to find the study.

    The storage is masked (a password is never printed), so a password-protected URL is the
    one thing a user has to fill in again.
    """
    from mammosearch.store import default_storage, mask_url

    argv = ["mammosearch", *command.split()]
    if study is not None:
        argv += ["--study", study]
    if Path(results_dir) != DEFAULT_RESULTS:
        argv += ["--results-dir", str(results_dir)]
    if storage != default_storage(results_dir):
        argv += ["--storage", mask_url(storage)]
    return shlex.join(argv)


def print_next(hint: str) -> None:
    # soft_wrap: a hint folded at the terminal's width would not paste back as one command.
    console.print(f"next: [cyan]{escape(hint)}[/]", soft_wrap=True)


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
        from mammosearch.progress import reporting
        from mammosearch.report import StageDisplay

        try:
            # Long stages (decoding, activations) as a bar at a terminal; `run` installs its own display inside.
            with reporting(StageDisplay.terminal_only(err_console)):
                return command(*args, **kwargs)
        except MammosearchError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except Terminated as exc:
            # SIGTERM: a scheduler's stop (scancel, pre-emption, a pod's end). Non-zero, so SLURM and Kubernetes see it.
            trial = "" if exc.requeued is None else f" trial {exc.requeued} was failed and its parameters queued again;"
            err_console.print(f"[yellow]stopped by SIGTERM:[/]{trial} finished trials are kept; run the same command again to resume.", soft_wrap=True)
            raise typer.Exit(Terminated.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted:[/] finished trials are kept; run the same command again to resume.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def installed_version() -> str:
    """The version pip recorded for this installation (pyproject.toml's), or ``unknown`` from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mammosearch")
    except PackageNotFoundError:
        return "unknown (not installed; run pip install -e .)"


def _print_version(value: bool) -> None:
    if value:
        console.print(f"mammosearch {installed_version()}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the installed version and exit.")] = False,
) -> None:
    """Hyper-parameter and architecture search for benign-vs-malignant mammogram classifiers."""


def main() -> None:  # pragma: no cover - console script entry
    app()
