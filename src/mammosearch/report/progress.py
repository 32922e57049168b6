"""The live display of a running study: trial n of N, epoch, val AUC, best so far, pruned/failed.

At a terminal, rich progress bars; anywhere else (a pipe, a CI log, ``nohup``) plain lines,
because a bar drawn into a file is a single frame cut off wherever the run stopped.
"""

from __future__ import annotations

import time
from types import TracebackType

import optuna
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mammosearch.metrics import is_cv
from mammosearch.progress import StageEvent
from mammosearch.report.stage_display import StageDisplay
from mammosearch.spec import TrialParams
from mammosearch.store.record import from_user_attrs
from mammosearch.words import duration, plural


def describe(params: TrialParams) -> str:
    if params.family == "cnn" and params.cnn is not None:
        return f"cnn f{params.cnn.filters} k{params.cnn.kernel_size} d{params.cnn.dense_units}"
    head = params.head.kind if params.head else "?"
    tuning = f" +ft{params.unfrozen_layers}" if params.fine_tune else ""
    return f"{params.family}/{head}{tuning}"


# Without a terminal, an epoch line at most this often (seconds): a log that shows the run
# is alive, without one line per epoch of every trial.
EPOCH_LINE_EVERY = 10.0


class RichStudyListener:
    """Implements :class:`mammosearch.study.StudyListener` with a rich progress display,
    and :class:`mammosearch.progress.ProgressSink` for the long stages (``stage_display.py``).

    One line per finished trial is printed above the bars. When the console is not a
    terminal there are no bars: a line when a trial starts, one when it ends, and the
    epoch reached at most every ``EPOCH_LINE_EVERY`` seconds in between, with the time
    the trial has left at its pace so far.
    """

    def __init__(self, console: Console, epoch_line_every: float = EPOCH_LINE_EVERY, stage_line_every: float | None = None) -> None:
        self.console = console
        self.live = console.is_terminal
        self.epoch_line_every = epoch_line_every
        self.last_epoch_line = 0.0
        self.finished = 0
        self.n_trials: int | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.stages = StageDisplay(console, self.progress if self.live else None, line_every=stage_line_every)
        self.trial_started = time.monotonic()
        self.trials_task = self.progress.add_task("trials", total=None, info="", visible=False)
        self.epochs_task = self.progress.add_task("epochs", total=None, info="", visible=False)
        self.best: tuple[float, int] | None = None
        self.counts = {"complete": 0, "pruned": 0, "failed": 0, "stopped": 0}
        self.current = ""

    def __enter__(self) -> RichStudyListener:
        if self.live:
            self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.live:
            self.progress.stop()

    def on_stage(self, event: StageEvent) -> None:
        self.stages.on_stage(event)

    def _plain(self, text: str) -> None:
        # soft_wrap: one event, one line, however narrow the (absent) terminal is assumed to be.
        self.console.print(text, soft_wrap=True, highlight=False)

    def _of_total(self) -> str:
        return f"{self.finished}/{self.n_trials}" if self.n_trials is not None else str(self.finished)

    def _status(self) -> str:
        best = "-" if self.best is None else f"{self.best[0]:.4f} (trial {self.best[1]})"
        return f"best {best} | pruned {self.counts['pruned']} | failed {self.counts['failed']}"

    def on_study_start(self, study_name: str, finished: int, n_trials: int | None, data_description: str, notes: tuple[str, ...] = ()) -> None:
        self.console.print(f"[bold]study[/] {escape(study_name)}: {escape(data_description)}")
        for note in notes:
            self.console.print(f"[yellow]note:[/] {escape(note)}")
        if finished:
            self.console.print(f"resuming: {plural(finished, 'trial')} already finished")
        self.finished, self.n_trials = finished, n_trials
        self.progress.update(self.trials_task, total=n_trials, completed=finished, visible=True, info=self._status())

    def on_trial_start(self, number: int, params: TrialParams) -> None:
        self.current = f"trial {number} {describe(params)}"
        self.progress.update(self.epochs_task, description=escape(self.current), total=params.total_epochs, completed=0, visible=True, info="")
        self.trial_started = time.monotonic()
        if not self.live:
            self.last_epoch_line = time.monotonic()
            self._plain(f"{escape(self.current)}: started ({params.total_epochs} epochs; {self._of_total()} trials finished)")

    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None:
        auc = logs.get("val_auc")
        info = f"val AUC {auc:.4f}" if auc is not None else ""
        self.progress.update(self.epochs_task, completed=epoch, total=total_epochs, info=info)
        if not self.live and time.monotonic() - self.last_epoch_line >= self.epoch_line_every:
            self.last_epoch_line = time.monotonic()
            left = (time.monotonic() - self.trial_started) * (total_epochs - epoch) / max(epoch, 1)
            self._plain(f"{escape(self.current)}: epoch {epoch}/{total_epochs}" + (f", {info}" if info else "") + f", about {duration(left)} left")

    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None:
        state = trial.state
        outcome = from_user_attrs(trial.user_attrs)
        self.stages.clear_untimed()
        if outcome.stopped_by_budget:
            self.counts["stopped"] += 1
            line = f"[yellow]stopped by the time budget[/] after epoch {outcome.epochs_trained}; the next run trains it in full"
        elif state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            self.counts["complete"] += 1
            if self.best is None or trial.value > self.best[0]:
                self.best = (trial.value, trial.number)
            # Under cross-validation the value is the mean fold AUC, not one validation split's.
            line = f"[green]complete[/] {'mean fold AUC' if is_cv(outcome.val_metrics) else 'val AUC'} {trial.value:.4f} (best epoch {outcome.best_epoch})"
        elif state == optuna.trial.TrialState.PRUNED:
            self.counts["pruned"] += 1
            step = trial.last_step
            line = f"[yellow]pruned[/] after {outcome.step_unit} {None if step is None else step + 1}"
        else:
            self.counts["failed"] += 1
            line = f"[red]failed[/]: {escape(outcome.fail_reason or 'unknown reason')}"
        seconds = trial.duration.total_seconds() if trial.duration else 0.0
        self.finished += 0 if outcome.stopped_by_budget else 1  # not counted towards n_trials
        if self.live:
            self.console.print(f"{escape(self.current)}: {line} [dim]{seconds:.1f}s[/]")
        else:
            self._plain(f"{escape(self.current)}: {line}, {seconds:.1f}s; {self._of_total()} trials finished, {self._status()}")
        self.progress.update(self.trials_task, completed=self.finished, info=self._status())
