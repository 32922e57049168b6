"""Classification metrics on ``(y_true, y_score)``: AUC, ROC, confusion matrix, CI.

Pure functions of numpy arrays, so training, reporting and export all compute a metric the
same way and tests need no model. Labels are 0 = benign, 1 = malignant; scores are the
predicted probability of malignancy. A prediction is positive when ``score >= threshold``,
the convention of :func:`sklearn.metrics.roc_curve`, so a threshold read off the ROC
reproduces that ROC point exactly.

Every returned dict holds plain Python ``int``/``float``/``list``/``None`` (never numpy
scalars or NaN) so it can go straight into ``json.dumps`` and Optuna user attributes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

__all__ = [
    "auc_from_ranks",
    "bootstrap_auc_ci",
    "evaluate_predictions",
    "is_collapsed",
    "roc_points",
    "threshold_metrics",
    "youden_threshold",
]

#: Scores whose standard deviation is below this carry no ranking: the model is constant.
COLLAPSE_STD = 1e-6

#: Upper bound on the elements of one bootstrap work array, to keep memory flat on big sets.
_BOOTSTRAP_CHUNK_ELEMENTS = 4_000_000


def _check_inputs(y_true: Any, y_score: Any) -> tuple[np.ndarray, np.ndarray]:
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


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
        raise ValueError(f"`threshold` must be a float, but got ({threshold=}).")
    if not math.isfinite(float(threshold)):
        raise ValueError(f"`threshold` must be finite, but got ({threshold=}).")
    return float(threshold)


def _ratio(numerator: int, denominator: int) -> float:
    """``numerator / denominator`` with 0.0 for an empty denominator.

    0.0 rather than NaN (sklearn's ``zero_division=0``): e.g. the precision of a model that
    never predicts malignant is reported as 0, which ranks it last instead of poisoning a
    table or a JSON file with NaN.
    """
    return float(numerator) / float(denominator) if denominator else 0.0


def threshold_metrics(y_true: Any, y_score: Any, threshold: float) -> dict[str, Any]:
    """Confusion matrix and the rates derived from it at one decision threshold.

    A sample is predicted malignant when ``score >= threshold``. Any rate whose denominator
    is zero (no positives, no predicted positives, ...) is 0.0, not NaN.

    Returns:
        ``accuracy``, ``precision``, ``recall`` (= sensitivity), ``sensitivity``,
        ``specificity``, ``f1``, ``confusion_matrix`` as ``[[tn, fp], [fn, tp]]`` (rows are
        the true class, as in :func:`sklearn.metrics.confusion_matrix`) and ``threshold``.
    """
    true, score = _check_inputs(y_true, y_score)
    threshold = _check_threshold(threshold)
    pred = score >= threshold
    positive = true == 1
    tp = int(np.sum(pred & positive))
    fp = int(np.sum(pred & ~positive))
    fn = int(np.sum(~pred & positive))
    tn = int(np.sum(~pred & ~positive))
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "threshold": threshold,
        "accuracy": _ratio(tp + tn, len(true)),
        "precision": precision,
        "recall": recall,
        "sensitivity": recall,
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def youden_threshold(y_true: Any, y_score: Any) -> float:
    """The score threshold maximising Youden's J = sensitivity + specificity - 1.

    Picks the operating point a reader would choose with no cost information, instead of a
    fixed 0.5 that is meaningless for a badly calibrated or imbalanced model. The threshold is
    one of the observed scores (never sklearn's leading ``inf``); ties go to the highest
    threshold, i.e. the fewest false positives. With a single class there is no ROC and 0.5 is
    returned.
    """
    true, score = _check_inputs(y_true, y_score)
    if np.unique(true).size < 2:
        return 0.5
    fpr, tpr, thresholds = roc_curve(true, score, drop_intermediate=False)
    finite = np.isfinite(thresholds)  # thresholds[0] is inf ("predict nothing positive")
    j = np.where(finite, tpr - fpr, -np.inf)
    return float(thresholds[int(np.argmax(j))])


def roc_points(y_true: Any, y_score: Any, max_points: int = 200) -> dict[str, list[float]]:
    """ROC curve as ``{"fpr": [...], "tpr": [...]}``, at most ``max_points`` long.

    Stored with every trial, so it is kept small: when longer than ``max_points`` it is
    subsampled evenly along the curve, always keeping (0, 0) and (1, 1). Collinear points
    are already dropped (``drop_intermediate``), so what remains are the corners that give
    the curve its shape. With a single class the ROC is undefined and both lists are empty.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)):
        raise ValueError(f"`max_points` must be an int, but got ({max_points=}).")
    if max_points < 2:
        raise ValueError(f"`max_points >= 2` must hold, but got ({max_points=}).")
    true, score = _check_inputs(y_true, y_score)
    if np.unique(true).size < 2:
        return {"fpr": [], "tpr": []}
    fpr, tpr, _ = roc_curve(true, score, drop_intermediate=True)
    if len(fpr) > max_points:
        keep = np.unique(np.round(np.linspace(0, len(fpr) - 1, max_points)).astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return {"fpr": [float(v) for v in fpr], "tpr": [float(v) for v in tpr]}


def is_collapsed(y_score: Any) -> bool:
    """Whether the scores cannot separate anything: all on one side of 0.5, or constant.

    Such a model (a common outcome of a too-high learning rate or a frozen backbone on a
    small set) predicts one class; its AUC may still look non-trivial from tiny score
    differences, so it is flagged rather than trusted.
    """
    score = np.asarray(y_score, dtype=np.float64)
    if score.size == 0:
        return True
    above = score >= 0.5
    return bool(above.all() or (~above).all() or float(np.std(score)) < COLLAPSE_STD)


def evaluate_predictions(
    y_true: Any, y_score: Any, threshold: float | None = None
) -> dict[str, Any]:
    """Every metric the report shows for one set of predictions, JSON-ready.

    Args:
        y_true: 0/1 labels.
        y_score: predicted probability of the positive (malignant) class.
        threshold: a threshold chosen elsewhere (Youden on the validation set) to apply
            here. Recomputing Youden on the test set would tune the operating point on the
            data it is evaluated on and overstate sensitivity/specificity, so for a test set
            pass the validation threshold. ``None`` computes Youden on this set.

    Returns:
        ``n``, ``n_positive``, ``auc`` and ``average_precision`` (``None`` with a single
        class), ``roc`` (:func:`roc_points`), ``at_0.5`` and ``at_youden``
        (:func:`threshold_metrics`), ``youden_threshold`` (the threshold used for
        ``at_youden``), ``threshold_source`` (``"given"`` or ``"youden"``) and ``collapsed``
        (:func:`is_collapsed`).
    """
    true, score = _check_inputs(y_true, y_score)
    if threshold is None:
        used, source = youden_threshold(true, score), "youden"
    else:
        used, source = _check_threshold(threshold), "given"
    two_classes = np.unique(true).size == 2
    return {
        "n": int(len(true)),
        "n_positive": int(true.sum()),
        "auc": float(roc_auc_score(true, score)) if two_classes else None,
        "average_precision": float(average_precision_score(true, score)) if two_classes else None,
        "roc": roc_points(true, score),
        "at_0.5": threshold_metrics(true, score, 0.5),
        "youden_threshold": used,
        "threshold_source": source,
        "at_youden": threshold_metrics(true, score, used),
        "collapsed": is_collapsed(score),
    }


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
    true, score = _check_inputs(y_true, y_score)
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
    true, score = _check_inputs(y_true, y_score)
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
