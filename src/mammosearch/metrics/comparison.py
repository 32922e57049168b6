"""Where one AUC stands against another figure's 95% interval, and the spread of fold AUCs.

Pure functions, so the run summary, the terminal report and the HTML page say "above the
baseline" on the same rule. The rule is deliberately plain: a figure inside the other's
interval has not been shown to differ from it, whatever its point value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

ABOVE = "above"  # above the other figure's whole interval
WITHIN = "within"  # inside it: not shown to differ
BELOW = "below"  # below its whole interval


def position(value: float | None, interval: Sequence[float] | None) -> str | None:
    """ABOVE, WITHIN or BELOW ``interval`` (low, high); None when either is missing or not finite."""
    if value is None or interval is None or len(interval) != 2:
        return None
    low, high = float(interval[0]), float(interval[1])
    if not all(math.isfinite(v) for v in (value, low, high)):
        return None
    if low > high:
        raise ValueError(f"`low <= high` must hold, but got ({low=}, {high=}).")
    return ABOVE if value > high else BELOW if value < low else WITHIN


def fold_spread(fold_aucs: Sequence[float]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (ddof 1; 0.0 for a single fold) of the fold AUCs; None for none.

    The spread of a handful of folds, named as such: it is not a confidence interval (the
    folds share training images), and the pooled out-of-fold AUC carries the bootstrap one.
    """
    values = [float(v) for v in fold_aucs]
    if not values:
        return None
    mean = sum(values) / len(values)
    if len(values) == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
