"""Checking ``(y_true, y_score)`` and thresholds once, for every metric."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_inputs(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels as int64, scores as float64)`` or say exactly what is wrong.

    Checked once here so every public function fails the same way, before sklearn gives a
    less specific message (or silently treats a 0..255 label array as multi-class).
    """
    true = np.asarray(y_true)
    score = np.asarray(y_score)
    if true.ndim != 1 or score.ndim != 1:
        raise ValueError(
            f"`y_true` and `y_score` must be 1-D, but got ({true.shape=}, {score.shape=})."
        )
    len_a, len_b = len(true), len(score)
    if len_a != len_b:
        raise ValueError(
            f"`y_true` and `y_score` must have the same length, but got ({len_a=}, {len_b=})."
        )
    if len_a == 0:
        raise ValueError("`y_true` and `y_score` must not be empty, but got 0 samples.")
    try:
        score = score.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`y_score` must be numeric, but got dtype {score.dtype}.") from exc
    if not np.all(np.isfinite(score)):
        n_bad = int(np.sum(~np.isfinite(score)))
        raise ValueError(f"`y_score` must be finite, but got {n_bad} NaN or infinite value(s).")
    try:
        labels = np.unique(true)
        bad = [v for v in labels.tolist() if v not in (0, 1)]
    except TypeError:  # mixed/object labels that cannot be sorted
        bad = [true[0]]
    if bad:
        raise ValueError(f"`y_true` must contain only 0 and 1, but got {bad[:5]!r}.")
    return true.astype(np.int64), score


def check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ValueError(f"`threshold` must be a float, but got ({threshold=}).")
    if not math.isfinite(float(threshold)):
        raise ValueError(f"`threshold` must be finite, but got ({threshold=}).")
    return float(threshold)
