"""`mammosearch weights`: prepare ImageNet weights where there is internet, check them where there is none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from mammosearch.cli.app import SETUP, app, console, friendly_errors

weights_app = typer.Typer(no_args_is_help=True, help="Fetch ImageNet weights into Keras' cache (login node) and check them offline (compute node).")
app.add_typer(weights_app, name="weights", rich_help_panel=SETUP)


@weights_app.command("fetch")
@friendly_errors
def weights_fetch(
    family: Annotated[list[str] | None, typer.Option("--family", help="A family with ImageNet weights (repeatable); default: all of them.")] = None,
) -> None:
    """Download the no-top ImageNet weights into $KERAS_HOME/models (~/.keras/models) and check their hash."""
    from rich.progress import BarColumn, DownloadColumn, TransferSpeedColumn

    from mammosearch.models import fetch_imagenet, imagenet_status

    names = family or [status.family for status in imagenet_status()]
    for name in names:
        with Progress(f"[bold]{escape(name)}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console) as bar:
            path = fetch_imagenet(name, _progress(bar, bar.add_task(name, total=None)))
        console.print(f"{escape(name)}: {escape(str(path))} (hash checked); `weights: imagenet` uses it offline")


def _progress(bar: Progress, task: TaskID) -> Callable[[int, int | None], None]:
    def update(done: int, total: int | None) -> None:
        bar.update(task, completed=done, total=total)

    return update


@weights_app.command("check")
@friendly_errors
def weights_check() -> None:
    """Say, offline, which families' ImageNet weights are ready and where their files are."""
    from mammosearch.models import imagenet_status

    table = Table(title="ImageNet weights (weights: imagenet)", header_style="bold")
    for title in ("family", "status", "file"):
        table.add_column(title)
    missing = 0
    for status in imagenet_status():
        state = "ready" if status.hash_ok else (f"file {status.problem}" if status.present else "missing")
        missing += state != "ready"
        table.add_row(status.family, escape(state), escape(str(status.path)))
    console.print(table)
    if missing:
        console.print("run `mammosearch weights fetch` where there is internet, copy the files to the paths above, "
                      "or give a local weights file per family in `model.weights`")
