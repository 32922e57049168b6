"""Exact AUC from ranks and its patient-bootstrap confidence interval (vectorised)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mammosearch.metrics._inputs import check_inputs

#: Upper bound on the elements of one bootstrap work array, to keep memory flat on big sets.
_BOOTSTRAP_CHUNK_ELEMENTS = 4_000_000


def _weighted_auc(
    sorted_true: np.ndarray, block_start: np.ndarray, block_end: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Mann-Whitney AUC for each row of ``weights`` (how often each sample was drawn).

    Samples are pre-sorted by score; ``block_start``/``block_end`` bound each sample's run of
    tied scores. AUC = P(score_pos > score_neg) + 0.5 P(tie), computed from the cumulative
    negative weight below each positive, so one (rows x n) pass handles all resamples and
    ties exactly as ``roc_auc_score`` does. Rows with a single class give NaN.
    """
    w_pos = weights * sorted_true
    w_neg = weights - w_pos
    cum_neg = np.zeros((weights.shape[0], weights.shape[1] + 1))
    np.cumsum(w_neg, axis=1, out=cum_neg[:, 1:])
    below = cum_neg[:, block_start]
    tied = cum_neg[:, block_end] - below
    numerator = np.sum(w_pos * (below + 0.5 * tied), axis=1)
    denominator = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _tie_blocks(sorted_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position of an ascending array, the start and end (exclusive) of its ties."""
    n = len(sorted_score)
    new_block = np.r_[True, sorted_score[1:] != sorted_score[:-1]]
    starts = np.flatnonzero(new_block)
    ends = np.r_[starts[1:], n]
    block_of = np.cumsum(new_block) - 1
    return starts[block_of], ends[block_of]


def auc_from_ranks(y_true: Any, y_score: Any) -> float | None:
    """ROC AUC via the Mann-Whitney U statistic (midranks for ties); ``None`` for one class.

    Equal to :func:`sklearn.metrics.roc_auc_score`; it is the kernel that
    :func:`bootstrap_auc_ci` vectorises, exposed so a test can pin the two together.
    """
    true, score = check_inputs(y_true, y_score)
    order = np.argsort(score, kind="stable")
    start, end = _tie_blocks(score[order])
    auc = _weighted_auc(true[order].astype(np.float64), start, end, np.ones((1, len(true))))[0]
    return None if math.isnan(auc) else float(auc)


def bootstrap_auc_ci(
    y_true: Any,
    y_score: Any,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap confidence interval of the ROC AUC.

    On a few hundred mammograms an AUC of 0.7 can be chance; the interval says so. With
    ``groups`` (patient ids) whole patients are resampled, because images of one woman
    (both breasts, both views) are correlated and resampling them independently gives an
    interval that is too narrow. Resamples with a single class have no AUC and are skipped.

    Returns:
        ``(low, high)`` or ``None`` when no resample has both classes (e.g. ``y_true`` has
        one class). Deterministic for a given ``seed``.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"`n_boot >= 1` must hold, but got ({n_boot=}).")
    if not 0.0 < level < 1.0:
        raise ValueError(f"`0 < level < 1` must hold, but got ({level=}).")
    true, score = check_inputs(y_true, y_score)
    n = len(true)
    if groups is None:
        group_of = np.arange(n)
    else:
        groups = np.asarray(groups)
        len_y, len_groups = n, len(groups)
        if groups.ndim != 1 or len_groups != n:
            raise ValueError(
                "`groups` must be 1-D with one entry per sample, "
                f"but got ({len_y=}, {len_groups=})."
            )
        _, group_of = np.unique(groups, return_inverse=True)
        group_of = group_of.reshape(-1)
    if np.unique(true).size < 2:
        return None

    n_groups = int(group_of.max()) + 1
    order = np.argsort(score, kind="stable")
    start, end = _tie_blocks(score[order])
    sorted_true = true[order].astype(np.float64)
    sorted_group = group_of[order]

    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CHUNK_ELEMENTS // max(n, n_groups))
    aucs = []
    for first in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - first)
        draws = rng.integers(0, n_groups, size=(rows, n_groups))
        offsets = (np.arange(rows) * n_groups)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=rows * n_groups)
        counts = counts.reshape(rows, n_groups).astype(np.float64)
        aucs.append(_weighted_auc(sorted_true, start, end, counts[:, sorted_group]))
    values = np.concatenate(aucs)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return float(low), float(high)


def patient_auc_ci(y_true: Any, y_score: Any, patient_ids: Any) -> list[float] | None:
    """The project's standard AUC interval: 95%, 1000 resamples of whole patients, seed 0, as a JSON-ready list."""
    interval = bootstrap_auc_ci(y_true, y_score, groups=np.asarray(patient_ids), n_boot=1000, seed=0)
    return None if interval is None else [float(interval[0]), float(interval[1])]
