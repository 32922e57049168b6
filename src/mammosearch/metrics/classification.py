"""Metrics at a threshold, Youden's threshold, ROC points, collapse, and one split's whole evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mammosearch.metrics._inputs import check_inputs, check_threshold
from mammosearch.spec import Confusion, Roc, SplitMetrics, ThresholdMetrics

#: Scores whose standard deviation is below this carry no ranking: the model is constant.
COLLAPSE_STD = 1e-6


def confusion_at(y_true: Any, y_score: Any, threshold: float) -> Confusion:
    """The confusion counts when a sample is predicted malignant at ``score >= threshold``."""
    true, score = check_inputs(y_true, y_score)
    pred = score >= check_threshold(threshold)
    positive = true == 1
    return Confusion(
        tn=int(np.sum(~pred & ~positive)), fp=int(np.sum(pred & ~positive)),
        fn=int(np.sum(~pred & positive)), tp=int(np.sum(pred & positive)),
    )


def at_threshold(y_true: Any, y_score: Any, threshold: float) -> ThresholdMetrics:
    """The confusion counts and every rate of the table (``spec/rates.py``) at one threshold.

    Any rate whose denominator is zero (no positives, no predicted positives, ...) is 0.0, not NaN.
    """
    threshold = check_threshold(threshold)
    return ThresholdMetrics.from_counts(threshold, confusion_at(y_true, y_score, threshold))


def threshold_metrics(y_true: Any, y_score: Any, threshold: float) -> dict[str, Any]:
    """:func:`at_threshold` as the JSON-ready dict studies store.

    Returns:
        ``threshold``, each rate of ``spec/rates.py`` under its keys (``accuracy``,
        ``precision``, ``recall`` and ``sensitivity``, ``specificity``, ``f1``, ...) and
        ``confusion_matrix`` as ``[[tn, fp], [fn, tp]]`` (rows are the true class, as in
        :func:`sklearn.metrics.confusion_matrix`).
    """
    return at_threshold(y_true, y_score, threshold).to_record()


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


def score_split(y_true: Any, y_score: Any, threshold: float | None = None) -> SplitMetrics:
    """Every metric the report shows for one set of predictions.

    Args:
        y_true: 0/1 labels.
        y_score: predicted probability of the positive (malignant) class.
        threshold: a threshold chosen elsewhere (Youden on the validation set) to apply
            here. Recomputing Youden on the test set would tune the operating point on the
            data it is evaluated on and overstate sensitivity/specificity, so for a test set
            pass the validation threshold. ``None`` computes Youden on this set.

    Returns:
        ``n``, ``n_positive``, ``auc`` and ``average_precision`` (``None`` with a single
        class), ``roc`` (:func:`roc_points`), ``at_05`` and ``at_youden``
        (:func:`at_threshold`), ``youden_threshold`` (the threshold used for ``at_youden``),
        ``threshold_source`` (``"given"`` or ``"youden"``) and ``collapsed`` (:func:`is_collapsed`).
    """
    true, score = check_inputs(y_true, y_score)
    if threshold is None:
        used, source = youden_threshold(true, score), "youden"
    else:
        used, source = check_threshold(threshold), "given"
    two_classes = np.unique(true).size == 2
    roc = roc_points(true, score)
    return SplitMetrics(
        n=int(len(true)),
        n_positive=int(true.sum()),
        auc=float(roc_auc_score(true, score)) if two_classes else None,
        average_precision=float(average_precision_score(true, score)) if two_classes else None,
        roc=Roc(tuple(roc["fpr"]), tuple(roc["tpr"])),
        at_05=at_threshold(true, score, 0.5),
        youden_threshold=used,
        threshold_source=source,
        at_youden=at_threshold(true, score, used),
        collapsed=is_collapsed(score),
    )


def evaluate_predictions(y_true: Any, y_score: Any, threshold: float | None = None) -> dict[str, Any]:
    """:func:`score_split` as the JSON-ready dict studies store (``at_0.5``, ``at_youden``, ...)."""
    return score_split(y_true, y_score, threshold).to_record()
