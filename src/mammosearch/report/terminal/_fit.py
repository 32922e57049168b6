"""Which columns of a terminal table fit the console: drop optional ones, in order, until no cell is cut."""

from __future__ import annotations

from collections.abc import Sequence

from mammosearch.spec import RATES, Rate


def minimum_width(titles: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """Characters the table needs with no header or cell cut: one border and two spaces of
    padding per column, plus the closing border. Headers and cells count unwrapped (their
    longest line when they hold a newline): when a table is too wide, Rich shrinks every
    column in proportion rather than wrapping headers first."""
    widths = [max(_longest(title), *(_longest(r[i]) for r in rows)) for i, title in enumerate(titles)]
    return sum(w + 3 for w in widths) + 1


def _longest(text: str) -> int:
    return max(len(line) for line in text.split("\n"))


def fitting_columns(width: int, titles: Sequence[str], rows: Sequence[Sequence[str]], drop_order: Sequence[str]) -> tuple[list[int], list[str]]:
    """The indices of the columns shown at ``width``, and the titles hidden (``drop_order`` first to last)."""
    shown = list(range(len(titles)))
    hidden: list[str] = []
    for title in drop_order:
        if minimum_width([titles[i] for i in shown], [[r[i] for i in shown] for r in rows]) <= width:
            break
        if title in titles and titles.index(title) in shown:
            shown.remove(titles.index(title))
            hidden.append(title)
    return shown, hidden


def rates_to_drop(rates: Sequence[Rate] = RATES) -> tuple[list[Rate], list[Rate]]:
    """The table's rates in the order a narrow terminal gives them up: (the others, in table
    order; the brief ones, last in the table first), so sensitivity and specificity stay longest."""
    return [r for r in rates if not r.brief], [r for r in reversed(rates) if r.brief]
