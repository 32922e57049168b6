"""Metrics at a threshold, Youden's threshold, ROC points, collapse, and one split's whole evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mammosearch.metrics.inputs import check_inputs, check_threshold

#: Scores whose standard deviation is below this carry no ranking: the model is constant.
COLLAPSE_STD = 1e-6


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
    true, score = check_inputs(y_true, y_score)
    threshold = check_threshold(threshold)
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
    true, score = check_inputs(y_true, y_score)
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
    true, score = check_inputs(y_true, y_score)
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
    true, score = check_inputs(y_true, y_score)
    if threshold is None:
        used, source = youden_threshold(true, score), "youden"
    else:
        used, source = check_threshold(threshold), "given"
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
