"""The long stages of a command as they run (``mammosearch.progress``): a bar at a terminal, lines elsewhere.

At a terminal each stage is a rich bar with done/total and the time left, removed when
the stage ends. Anywhere else (a pipe, a CI log, ``nohup``, a worker's log) a line at
most every ``LINE_EVERY`` seconds per stage with done/total and the time left, and a
line when a stage that took a while ends, so a long activation pass is never silent.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mammosearch.progress import ADVANCED, FINISHED, STARTED, StageEvent
from mammosearch.report.durations import duration

LINE_EVERY = 10.0  # seconds between two progress lines of one stage, without a terminal
FINISH_LINE_AFTER = 2.0  # a stage that took at least this long says so when it ends

Key = tuple[tuple[str, ...], str]  # (the stages it is nested in, its name)


def progress_text(event: StageEvent) -> str:
    """``decode: 1200/3400 files, 35.0 s, about 1 min 04 s left``."""
    unit = f" {event.unit}" if event.unit else ""
    done = f"{event.done}/{event.total}{unit}" if event.total is not None else f"{event.done}{unit}"
    left = event.left
    return f"{event.name}: {done}, {duration(event.elapsed)}" + ("" if left is None else f", about {duration(left)} left")


def finish_text(event: StageEvent) -> str:
    """``decode: 3400 files in 1 min 40 s``."""
    unit = f" {event.unit}" if event.unit else ""
    done = f"{event.done}{unit}" if event.total is not None else "done"
    return f"{event.name}: {done} in {duration(event.elapsed)}"


class StageDisplay:
    """Implements :class:`mammosearch.progress.ProgressSink` on a rich console.

    ``progress``: the live rich display to draw bars in (a terminal), or None for lines.
    """

    def __init__(self, console: Console, progress: Progress | None, line_every: float | None = None, finish_line_after: float | None = None) -> None:
        self.console = console
        self.progress = progress
        self.line_every = LINE_EVERY if line_every is None else line_every
        self.finish_line_after = FINISH_LINE_AFTER if finish_line_after is None else finish_line_after
        self.tasks: dict[Key, TaskID] = {}
        self.untimed: set[Key] = set()  # progress-only stages (an epoch's batches)
        self.last_line: dict[Key, float] = {}
        self.spoke: set[Key] = set()  # stages that printed a progress line

    def _print(self, text: str, depth: int) -> None:
        # soft_wrap: one event, one line, however narrow the (absent) terminal is assumed to be.
        self.console.print("  " * depth + escape(text), soft_wrap=True, highlight=False)

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
            self._line(event, key)

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
                if event.timed and event.elapsed >= self.finish_line_after:
                    self._print(finish_text(event), len(event.parents))

    def _line(self, event: StageEvent, key: Key) -> None:
        now = time.monotonic()
        if event.kind == STARTED:
            self.last_line[key] = now  # the first line comes LINE_EVERY after the start
        elif event.kind == ADVANCED and now - self.last_line.get(key, now) >= self.line_every:
            self.last_line[key] = now
            self.spoke.add(key)
            self._print(progress_text(event), len(event.parents))
        elif event.kind == FINISHED:
            self.last_line.pop(key, None)
            spoke = key in self.spoke
            self.spoke.discard(key)
            if event.timed and (event.elapsed >= self.finish_line_after or spoke):
                self._print(finish_text(event), len(event.parents))

    def clear_untimed(self) -> None:
        """Remove the bars of progress-only stages: an epoch the pruner or the budget cut short never finishes its stage."""
        if self.progress is not None:
            for key in self.untimed & set(self.tasks):
                self.progress.remove_task(self.tasks.pop(key))
        self.untimed.clear()
