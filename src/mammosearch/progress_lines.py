"""Progress as plain lines, for a log, a pipe, CI or ``nohup`` (``mammosearch.progress``'s sink without a terminal).

A bar drawn into a file is one frame cut off wherever the run stopped; instead, a line at
most every ``LINE_EVERY`` seconds per stage with done/total and the time left, and one
when a stage that took ``FINISH_LINE_AFTER`` seconds or more ends, so a long activation
pass is never silent. No rich here: a ``--workers`` process writes these to its log with
``print``; the CLI's display (``report/stage_display.py``) writes them to its console.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mammosearch.progress import ADVANCED, FINISHED, STARTED, StageEvent
from mammosearch.words import duration

LINE_EVERY = 10.0  # seconds between two progress lines of one stage
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


class PlainLines:
    """Implements :class:`mammosearch.progress.ProgressSink` with ``write(line)``, nested stages indented."""

    def __init__(self, write: Callable[[str], None], line_every: float | None = None, finish_line_after: float | None = None) -> None:
        self.write = write
        self.line_every = LINE_EVERY if line_every is None else line_every
        self.finish_line_after = FINISH_LINE_AFTER if finish_line_after is None else finish_line_after
        self.last_line: dict[Key, float] = {}
        self.spoke: set[Key] = set()  # stages that printed a progress line

    def on_stage(self, event: StageEvent) -> None:
        if not event.shown:
            return
        key, now, indent = (event.parents, event.name), time.monotonic(), "  " * len(event.parents)
        if event.kind == STARTED:
            self.last_line[key] = now  # the first line comes line_every after the start
        elif event.kind == ADVANCED and now - self.last_line.get(key, now) >= self.line_every:
            self.last_line[key] = now
            self.spoke.add(key)
            self.write(indent + progress_text(event))
        elif event.kind == FINISHED:
            self.last_line.pop(key, None)
            spoke = key in self.spoke
            self.spoke.discard(key)
            if event.timed and (event.elapsed >= self.finish_line_after or spoke):
                self.write(indent + finish_text(event))
