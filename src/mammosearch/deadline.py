"""The time budget of a whole command (``--timeout``): one wall-clock deadline shared by its processes.

Wall-clock (``time.time()``), not a monotonic clock: recycled children and ``--workers``
processes receive the deadline in their pickled run options and compare it with their own
clock, and only the wall clock is one clock for every process of a machine.
"""

from __future__ import annotations

import time


def deadline_after(seconds: float | None, started: float | None = None) -> float | None:
    """The deadline ``seconds`` after ``started`` (default: now); None without a budget."""
    return None if seconds is None else (time.time() if started is None else started) + seconds


def seconds_left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (negative once it has passed); None without one."""
    return None if deadline is None else deadline - time.time()


def would_overrun(deadline: float | None, seconds: float) -> bool:
    """Whether work of ``seconds`` started now would end after ``deadline``."""
    return deadline is not None and time.time() + seconds > deadline
