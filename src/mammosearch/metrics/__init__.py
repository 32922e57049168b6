"""Classification metrics on ``(y_true, y_score)``: AUC, ROC, confusion matrix, CI.

Pure functions of numpy arrays, so training, reporting and export all compute a metric the
same way and tests need no model. Labels are 0 = benign, 1 = malignant; scores are the
predicted probability of malignancy. A prediction is positive when ``score >= threshold``,
the convention of :func:`sklearn.metrics.roc_curve`, so a threshold read off the ROC
reproduces that ROC point exactly.

Every returned dict holds plain Python ``int``/``float``/``list``/``None`` (never numpy
scalars or NaN) so it can go straight into ``json.dumps`` and Optuna user attributes.
"""

from mammosearch.metrics.auc import auc_from_ranks, bootstrap_auc_ci, patient_auc_ci
from mammosearch.metrics.bbc import BbcEstimate, bbc_cv
from mammosearch.metrics.classification import at_threshold, evaluate_predictions, is_collapsed, roc_points, score_split, threshold_metrics, youden_threshold
from mammosearch.metrics.comparison import ABOVE, BELOW, WITHIN, fold_spread, position

__all__ = [
    "ABOVE",
    "BELOW",
    "WITHIN",
    "BbcEstimate",
    "at_threshold",
    "auc_from_ranks",
    "bbc_cv",
    "bootstrap_auc_ci",
    "evaluate_predictions",
    "fold_spread",
    "is_collapsed",
    "patient_auc_ci",
    "position",
    "roc_points",
    "score_split",
    "threshold_metrics",
    "youden_threshold",
]
