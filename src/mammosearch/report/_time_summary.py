"""Where a run's time went: its stages (set-up, probes, trials) and what is left over, in one line."""

from __future__ import annotations

from mammosearch.progress import StageTime
from mammosearch.words import duration

SHOWN_FROM = 0.05  # seconds: nested stages shorter than this are left out of the line


def _describe(stage: StageTime, stages: list[StageTime]) -> str:
    times = f"{stage.count} x, " if stage.count > 1 else ""
    text = f"{stage.name} {times}{duration(stage.seconds)}"
    inside = [s for s in stages if s.parents == (*stage.parents, stage.name) and s.seconds >= SHOWN_FROM]
    if inside:
        text += " (" + ", ".join(_describe(s, stages) for s in inside) + ")"
    return text


def time_summary(stages: list[StageTime], total_seconds: float, timeout: float | None) -> str:
    """``time: 2 min 10 s of a 5 min 00 s budget: set-up 12.0 s (load data 8.1 s (decode 8.0 s), ...); trials 3 x, 1 min 50 s; other 8.0 s``."""
    top = [s for s in stages if not s.parents]
    parts = [_describe(s, stages) for s in top]
    other = total_seconds - sum(s.seconds for s in top)
    if other >= SHOWN_FROM:
        parts.append(f"other {duration(other)}")
    budget = "" if timeout is None else f" of a {duration(timeout)} budget"
    return f"time: {duration(total_seconds)}{budget}: " + "; ".join(parts)
