"""The ONE table of threshold rates: every metric read off the confusion matrix at a threshold.

Each :class:`Rate` says its name, its words for a reader, how it is computed from the
confusion counts and how it is printed. Computing them (``metrics/classification.py``,
the patient bootstrap in ``metrics/threshold_ci.py``), storing them (``spec/split_metrics.py``)
and every view (the CSV/JSON columns, the terminal and HTML tables, the model card,
``evaluate``) iterate over :data:`RATES`, so a new rate is one entry here.

A rate is ``numerator / denominator`` of the counts, so the same definition serves a single
confusion matrix (an empty denominator gives 0.0, sklearn's ``zero_division=0``: a model
that never calls malignant has precision 0 and ranks last instead of poisoning a JSON file
with NaN) and the bootstrap's arrays of counts (an empty denominator is NaN there, and that
resample is left out of the interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple


class Confusion(NamedTuple):
    """The confusion counts at one threshold (a prediction is positive when ``score >= threshold``).

    Ints for one confusion matrix, numpy arrays of counts for the bootstrap's resamples.
    """

    tn: Any
    fp: Any
    fn: Any
    tp: Any

    @property
    def total(self) -> Any:
        return self.tn + self.fp + self.fn + self.tp

    def to_matrix(self) -> list[list[int]]:
        """``[[tn, fp], [fn, tp]]``: rows are the true class, as in :func:`sklearn.metrics.confusion_matrix`."""
        return [[int(self.tn), int(self.fp)], [int(self.fn), int(self.tp)]]

    @classmethod
    def from_matrix(cls, matrix: Any) -> Confusion | None:
        """The counts of a stored ``[[tn, fp], [fn, tp]]``; None for anything else."""
        try:
            (tn, fp), (fn, tp) = matrix
            return cls(int(tn), int(fp), int(fn), int(tp))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Rate:
    """One threshold rate: how it is named, stored, computed and printed."""

    key: str  # stored under this key, and the CSV column stem (val_<key>_05, test_<key>_youden)
    label: str  # for a reader: table headers in the HTML page, the model card and evaluate
    short: str  # the narrow terminal header
    numerator: Callable[[Confusion], Any]
    denominator: Callable[[Confusion], Any]
    # Shown where room is short (the HTML leaderboard's Youden columns, the last terminal
    # columns dropped at 80 characters); every rate is in the CSVs, JSON, card and evaluate.
    brief: bool = False
    also_stored_as: tuple[str, ...] = ()  # further keys of the same value (today's records hold both)
    digits: int = 3

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.also_stored_as)

    def of(self, counts: Confusion) -> float:
        """The rate of one confusion matrix; 0.0 when its denominator is empty."""
        denominator = self.denominator(counts)
        return float(self.numerator(counts)) / float(denominator) if denominator else 0.0

    def read(self, stored: Mapping[str, Any] | None) -> float | None:
        """The rate in a stored at-threshold dict: under any of its keys, else from its confusion
        matrix (so a record written before this rate existed still has it), else None."""
        if not stored:
            return None
        for key in self.keys:
            value = stored.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        counts = Confusion.from_matrix(stored.get("confusion_matrix"))
        return None if counts is None else self.of(counts)

    def format(self, value: Any) -> str:
        """The value as the terminal and the card print it; "-" for none (None, or a table's NaN)."""
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            return "-"
        return f"{value:.{self.digits}f}"


RATES: tuple[Rate, ...] = (
    Rate("accuracy", "accuracy", "acc", lambda c: c.tp + c.tn, lambda c: c.total),
    Rate("precision", "precision", "prec", lambda c: c.tp, lambda c: c.tp + c.fp),
    # Stored as "recall" (the CSV's val_recall_05) and "sensitivity" (what the card and evaluate read).
    Rate("recall", "sensitivity", "sens", lambda c: c.tp, lambda c: c.tp + c.fn, brief=True, also_stored_as=("sensitivity",)),
    Rate("specificity", "specificity", "spec", lambda c: c.tn, lambda c: c.tn + c.fp, brief=True),
    Rate("f1", "F1", "F1", lambda c: 2 * c.tp, lambda c: 2 * c.tp + c.fp + c.fn, brief=True),
    # Negative predictive value at this data's own prevalence: the share of benign calls that are benign
    # (the model card also states PPV and NPV at a screening prevalence, metrics/predictive.py).
    Rate("npv", "NPV", "NPV", lambda c: c.tn, lambda c: c.tn + c.fn),
)

BY_KEY: dict[str, Rate] = {key: rate for rate in RATES for key in rate.keys}
SENSITIVITY = BY_KEY["sensitivity"]
SPECIFICITY = BY_KEY["specificity"]
F1 = BY_KEY["f1"]


def brief_rates() -> tuple[Rate, ...]:
    return tuple(rate for rate in RATES if rate.brief)


def labels_text(rates: Sequence[Rate]) -> str:
    """``accuracy, precision and F1``: the rates' labels as running text."""
    labels = [rate.label for rate in rates]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


__all__ = ["BY_KEY", "F1", "RATES", "SENSITIVITY", "SPECIFICITY", "Confusion", "Rate", "brief_rates", "labels_text"]
