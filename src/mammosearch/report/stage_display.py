"""The long stages of a command as they run (``mammosearch.progress``): a bar at a terminal, lines elsewhere.

At a terminal each stage is a rich bar with done/total and the time left, removed when
the stage ends. Anywhere else (a pipe, a CI log, ``nohup``) the plain lines of
``mammosearch.progress_lines``, printed on the console.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mammosearch import progress_lines
from mammosearch.progress import ADVANCED, FINISHED, STARTED, StageEvent
from mammosearch.progress_lines import PlainLines, finish_text

Key = progress_lines.Key


class StageDisplay:
    """Implements :class:`mammosearch.progress.ProgressSink` on a rich console.

    ``progress``: the live rich display to draw bars in (a terminal), or None for lines.
    """

    def __init__(self, console: Console, progress: Progress | None, line_every: float | None = None, finish_line_after: float | None = None) -> None:
        self.console = console
        self.progress = progress
        self.lines = PlainLines(self._write, line_every, finish_line_after)
        self.tasks: dict[Key, TaskID] = {}
        self.untimed: set[Key] = set()  # progress-only stages (an epoch's batches)

    def _write(self, line: str) -> None:
        # soft_wrap: one event, one line, however narrow the (absent) terminal is assumed to be.
        self.console.print(escape(line), soft_wrap=True, highlight=False)

    @classmethod
    def terminal_only(cls, console: Console) -> StageDisplay:
        """For commands with no display of their own (predict, evaluate, ...): a transient bar
        while a stage runs, at a terminal; silent elsewhere, so their piped output stays theirs."""
        display = cls(console, None)
        display.own_bars = True
        return display

    own_bars = False  # draws (and starts, and stops) its own transient bars

    def on_stage(self, event: StageEvent) -> None:
        if not event.shown:
            return
        key = (event.parents, event.name)
        if self.own_bars:
            if self.console.is_terminal:
                self._own_bar(event, key)
        elif self.progress is not None:
            self._bar(event, key)
        else:
            self.lines.on_stage(event)

    def _own_bar(self, event: StageEvent, key: Key) -> None:
        if self.progress is None and event.kind == STARTED:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                console=self.console, transient=True,
            )
            self.progress.start()
        if self.progress is not None:
            self._bar(event, key)
            if not self.tasks:
                self.progress.stop()
                self.progress = None

    def _bar(self, event: StageEvent, key: Key) -> None:
        assert self.progress is not None
        if event.kind == STARTED:
            label = "  " * len(event.parents) + escape(event.name)
            self.tasks[key] = self.progress.add_task(label, total=event.total, completed=event.done, info=event.unit)
            if not event.timed:
                self.untimed.add(key)
        elif key in self.tasks:
            task = self.tasks[key]
            if event.kind == ADVANCED:
                self.progress.update(task, completed=event.done, total=event.total)
            elif event.kind == FINISHED:
                self.progress.remove_task(self.tasks.pop(key))
                self.untimed.discard(key)
                if event.timed and event.elapsed >= self.lines.finish_line_after:
                    self._write("  " * len(event.parents) + finish_text(event))

    def clear_untimed(self) -> None:
        """Remove the bars of progress-only stages: an epoch the pruner or the budget cut short never finishes its stage."""
        if self.progress is not None:
            for key in self.untimed & set(self.tasks):
                self.progress.remove_task(self.tasks.pop(key))
        self.untimed.clear()
