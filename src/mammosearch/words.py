"""Counts in sentences: the noun agrees with its number ("1 trial", "2 trials")."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 trial``, ``2 trials``, ``1 complete trial``: a count with its (regular) noun agreeing."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
