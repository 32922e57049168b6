"""Progress of a command's long stages (done/total, time left) and where its time went.

Any layer reports a stage it is in (``with stage("decode", total=n, unit="files") as s:
s.advance()``) without knowing who shows it: the command installs a sink for the
duration of its work (``with reporting(sink) as timeline:``), the CLI's rich display at a
terminal, plain throttled lines in a log, or a queue to the parent process of a recycled
child. With no sink installed a stage costs a clock read. Nothing here imports rich,
Keras or anything above the bottom layer, so ``data/`` and ``trial/`` can report.

A stage opened while another is open is nested in it (the activation pass inside the
linear probe); the :class:`Timeline` of a ``reporting`` block keeps every finished stage
it timed, for the run's summary of where the time went.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

# Seconds between two updates of one stage sent to the sink: a display redraws, a recycled
# child's queue carries, at most this often, however fast the work advances.
UPDATE_EVERY = 0.25

STARTED, ADVANCED, FINISHED = "started", "advanced", "finished"


@dataclass(frozen=True)
class StageEvent:
    """One stage's state when it started, advanced or finished (plain values: it crosses process queues)."""

    kind: str  # STARTED, ADVANCED or FINISHED
    name: str
    done: int
    total: int | None
    unit: str
    elapsed: float  # seconds since the stage started
    parents: tuple[str, ...] = ()  # the open stages it is nested in, outermost first
    timed: bool = True  # False: progress only (an epoch's batches), not in the time summary
    shown: bool = True  # False: timed only (each trial: the study display shows trials its own way)

    @property
    def left(self) -> float | None:
        """Seconds left at the pace so far (None before the first unit is done, or without a total)."""
        if self.total is None or self.done <= 0 or self.elapsed <= 0:
            return None
        return max(0.0, self.elapsed * (self.total - self.done) / self.done)


class ProgressSink(Protocol):
    def on_stage(self, event: StageEvent) -> None: ...


@dataclass(frozen=True)
class StageTime:
    """All the finished runs of one stage at one place in the nesting: how often and how long in all."""

    name: str
    parents: tuple[str, ...]
    seconds: float
    count: int


class Timeline:
    """The timed stages finished while a ``reporting`` block was open, and how long it has been open."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._totals: dict[tuple[tuple[str, ...], str], list[float]] = {}

    def record(self, event: StageEvent) -> None:
        entry = self._totals.setdefault((event.parents, event.name), [0.0, 0])
        entry[0] += event.elapsed
        entry[1] += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stages(self) -> list[StageTime]:
        """In the order each stage first finished (a nested stage finishes before its parent)."""
        return [StageTime(name, parents, seconds, int(count)) for (parents, name), (seconds, count) in self._totals.items()]


@dataclass
class _Reporter:
    sink: ProgressSink
    timeline: Timeline


_lock = threading.Lock()
_reporters: list[_Reporter] = []  # innermost last: the one stages report to
_open: list[str] = []  # names of the stages open in this process, outermost first


class Stage:
    """A stage in progress: ``advance`` as units are done; ``finish`` once (``stage()`` does both for a block)."""

    def __init__(self, name: str, total: int | None = None, unit: str = "", timed: bool = True, shown: bool = True) -> None:
        self.name, self.total, self.unit, self.timed, self.shown = name, total, unit, timed, shown
        self.done = 0
        self.started = time.monotonic()
        self._last_sent = self.started
        with _lock:
            self.parents = tuple(_open)
            if timed:  # an untimed stage (progress only) is never a parent, so it cannot be left open as one
                _open.append(name)
        self._send(STARTED)

    def advance(self, units: int = 1) -> None:
        self.done += units
        now = time.monotonic()
        if now - self._last_sent >= UPDATE_EVERY:
            self._last_sent = now
            self._send(ADVANCED)

    def finish(self) -> None:
        if self.timed:
            with _lock:
                # The innermost open stage of this name: stages close in the order they opened.
                for index in range(len(_open) - 1, -1, -1):
                    if _open[index] == self.name:
                        del _open[index]
                        break
        self._send(FINISHED)

    def _send(self, kind: str) -> None:
        reporter = _reporters[-1] if _reporters else None
        if reporter is None:
            return
        event = StageEvent(kind, self.name, self.done, self.total, self.unit, time.monotonic() - self.started, self.parents, self.timed, self.shown)
        if kind == FINISHED and self.timed:
            reporter.timeline.record(event)
        reporter.sink.on_stage(event)


@contextmanager
def stage(name: str, total: int | None = None, unit: str = "", timed: bool = True, shown: bool = True) -> Iterator[Stage]:
    """A stage for the duration of the block; finished also when the block raises."""
    current = Stage(name, total, unit, timed, shown)
    try:
        yield current
    finally:
        current.finish()


@contextmanager
def reporting(sink: ProgressSink) -> Iterator[Timeline]:
    """Stages started in this block report to ``sink``; the timeline keeps how long each took."""
    reporter = _Reporter(sink, Timeline())
    _reporters.append(reporter)
    try:
        yield reporter.timeline
    finally:
        _reporters.remove(reporter)


def relay(event: StageEvent) -> None:
    """An event of a stage run by another process (a recycled child), reported here as if run here."""
    reporter = _reporters[-1] if _reporters else None
    if reporter is None:
        return
    with _lock:
        local = tuple(_open)
    if local:
        event = StageEvent(event.kind, event.name, event.done, event.total, event.unit, event.elapsed, local + event.parents, event.timed, event.shown)
    if event.kind == FINISHED and event.timed:
        reporter.timeline.record(event)
    reporter.sink.on_stage(event)
