"""Operating points: the threshold that reaches a target sensitivity or specificity, and calibration.

A screening reader asks "what do I miss at 90% specificity?", not "what is the AUC?". The
thresholds are read off the validation ROC (so they are chosen there, never on the data
they are later applied to) and stored in the model card, where ``predict`` and
``evaluate`` look them up by name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, precision_recall_curve, roc_curve

from mammosearch.metrics._inputs import check_inputs

TARGETS = (0.80, 0.90, 0.95)


def point_name(kind: str, target: float) -> str:
    """``sensitivity_0.90``: the key an operating point is stored and asked for under."""
    return f"{kind}_{target:.2f}"


def operating_points(y_true: Any, y_score: Any, targets: tuple[float, ...] = TARGETS) -> dict[str, dict[str, float]]:
    """For each target, the threshold and the sensitivity and specificity it gives on these scores.

    ``sensitivity_T``: the highest threshold whose sensitivity is at least T (the most
    specific way to miss at most 1 - T of the positives). ``specificity_T``: the lowest
    threshold whose specificity is at least T. Empty with a single class.
    """
    true, score = check_inputs(y_true, y_score)
    if np.unique(true).size < 2:
        return {}
    fpr, tpr, thresholds = roc_curve(true, score, drop_intermediate=False)
    # roc_curve's first threshold is +inf (nothing positive): a stored threshold is a finite score.
    thresholds = np.minimum(thresholds, 1.0)
    points: dict[str, dict[str, float]] = {}
    for target in targets:
        i = int(np.argmax(tpr >= target - 1e-12))
        points[point_name("sensitivity", target)] = _point(thresholds[i], tpr[i], fpr[i])
        reaching = np.flatnonzero(1.0 - fpr >= target - 1e-12)
        j = int(reaching[-1])  # fpr[0] == 0, so at least one index reaches any target
        points[point_name("specificity", target)] = _point(thresholds[j], tpr[j], fpr[j])
    return points


def _point(threshold: float, tpr: float, fpr: float) -> dict[str, float]:
    return {"threshold": float(threshold), "sensitivity": float(tpr), "specificity": float(1.0 - fpr)}


def calibration(y_true: Any, y_score: Any, bins: int = 10) -> dict[str, Any]:
    """Brier score and a reliability table (mean predicted vs observed share, equal-width bins)."""
    true, score = check_inputs(y_true, y_score)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        members = index == b
        if members.any():
            table.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": int(members.sum()),
                          "mean_predicted": float(score[members].mean()), "observed": float(true[members].mean())})
    return {"brier": float(brier_score_loss(true, score)), "bins": table}


def pr_points(y_true: Any, y_score: Any, max_points: int = 200) -> dict[str, list[float]]:
    """The precision-recall curve, thinned to at most ``max_points`` for plots and JSON."""
    true, score = check_inputs(y_true, y_score)
    precision, recall, _ = precision_recall_curve(true, score)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(max_points, len(recall))).astype(int))
    return {"recall": [float(v) for v in recall[keep]], "precision": [float(v) for v in precision[keep]]}
