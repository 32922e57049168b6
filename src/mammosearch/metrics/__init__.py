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
from mammosearch.metrics.figures import baseline_verdict, evaluated_on, is_cv, objective_name, scored_on, selection_figures
from mammosearch.metrics.operating import calibration, operating_points, point_name, pr_points
from mammosearch.metrics.predictive import SCREENING_PREVALENCES, at_prevalences, predictive_values
from mammosearch.metrics.threshold_ci import threshold_metric_cis

__all__ = [
    "ABOVE",
    "BELOW",
    "BbcEstimate",
    "SCREENING_PREVALENCES",
    "WITHIN",
    "at_prevalences",
    "at_threshold",
    "auc_from_ranks",
    "baseline_verdict",
    "bbc_cv",
    "bootstrap_auc_ci",
    "calibration",
    "evaluate_predictions",
    "evaluated_on",
    "fold_spread",
    "is_collapsed",
    "is_cv",
    "objective_name",
    "operating_points",
    "patient_auc_ci",
    "point_name",
    "position",
    "pr_points",
    "predictive_values",
    "roc_points",
    "score_split",
    "scored_on",
    "selection_figures",
    "threshold_metric_cis",
    "threshold_metrics",
    "youden_threshold",
]
