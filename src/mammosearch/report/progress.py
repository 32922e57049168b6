"""The live display of a running study: trial n of N, epoch, val AUC, best so far, pruned/failed."""

from __future__ import annotations

from types import TracebackType

import optuna
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mammosearch.config.params import TrialParams
from mammosearch.store.record import from_user_attrs


def describe(params: TrialParams) -> str:
    if params.family == "cnn" and params.cnn is not None:
        return f"cnn f{params.cnn.filters} k{params.cnn.kernel_size} d{params.cnn.dense_units}"
    head = params.head.kind if params.head else "?"
    tuning = f" +ft{params.unfrozen_layers}" if params.fine_tune else ""
    return f"{params.family}/{head}{tuning}"


class RichStudyListener:
    """Implements :class:`mammosearch.study.StudyListener` with a rich progress display.

    One line per finished trial is printed above the bars, so a non-interactive log (CI,
    nohup) still shows every trial's outcome.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.trials_task = self.progress.add_task("trials", total=None, info="", visible=False)
        self.epochs_task = self.progress.add_task("epochs", total=None, info="", visible=False)
        self.best: tuple[float, int] | None = None
        self.counts = {"complete": 0, "pruned": 0, "failed": 0}
        self.current = ""

    def __enter__(self) -> RichStudyListener:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.progress.stop()

    def _status(self) -> str:
        best = "-" if self.best is None else f"{self.best[0]:.4f} (trial {self.best[1]})"
        return f"best {best} | pruned {self.counts['pruned']} | failed {self.counts['failed']}"

    def on_study_start(self, study_name: str, finished: int, n_trials: int | None, data_description: str, notes: tuple[str, ...] = ()) -> None:
        self.console.print(f"[bold]study[/] {escape(study_name)}: {escape(data_description)}")
        for note in notes:
            self.console.print(f"[yellow]note:[/] {escape(note)}")
        if finished:
            self.console.print(f"resuming: {finished} trial(s) already finished")
        self.progress.update(self.trials_task, total=n_trials, completed=finished, visible=True, info=self._status())

    def on_trial_start(self, number: int, params: TrialParams) -> None:
        self.current = f"trial {number} {describe(params)}"
        self.progress.update(self.epochs_task, description=escape(self.current), total=params.total_epochs, completed=0, visible=True, info="")

    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None:
        auc = logs.get("val_auc")
        info = f"val AUC {auc:.4f}" if auc is not None else ""
        self.progress.update(self.epochs_task, completed=epoch, total=total_epochs, info=info)

    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None:
        state = trial.state
        outcome = from_user_attrs(trial.user_attrs)
        if state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            self.counts["complete"] += 1
            if self.best is None or trial.value > self.best[0]:
                self.best = (trial.value, trial.number)
            line = f"[green]complete[/] val AUC {trial.value:.4f} (best epoch {outcome.best_epoch})"
        elif state == optuna.trial.TrialState.PRUNED:
            self.counts["pruned"] += 1
            step = trial.last_step
            line = f"[yellow]pruned[/] after {outcome.step_unit} {None if step is None else step + 1}"
        else:
            self.counts["failed"] += 1
            line = f"[red]failed[/]: {escape(outcome.fail_reason or 'unknown reason')}"
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        self.console.print(f"{escape(self.current)}: {line} [dim]{seconds:.1f}s[/]")
        self.progress.update(self.trials_task, advance=1, info=self._status())
