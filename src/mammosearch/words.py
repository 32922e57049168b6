"""Numbers in sentences: the noun agrees with its count ("1 trial", "2 trials"), seconds read as people say them."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 trial``, ``2 trials``, ``1 complete trial``: a count with its (regular) noun agreeing."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def duration(seconds: float) -> str:
    """Seconds as people read them: ``4.2 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
