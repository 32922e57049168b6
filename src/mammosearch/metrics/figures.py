"""Each AUC with its own name and its own interval, worded once for every view.

Under cross-validation a trial has two AUCs: the mean of its fold AUCs (the objective, what
ranks the trials) and the AUC of its pooled out-of-fold predictions (what the bootstrap
interval, the threshold metrics, the ROC and the confusion matrix are computed on). They
differ, sometimes by a lot, so neither may be shown with the other's interval, and the
pooled one is never called "validation". The terminal view, the HTML page, the model card
and the run summary take their words from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mammosearch.metrics.comparison import ABOVE, BELOW, WITHIN, fold_spread, position
from mammosearch.spec import SplitMetrics

POOLED = "pooled out-of-fold"
VALIDATION = "validation"


def is_cv(metrics: SplitMetrics | None) -> bool:
    """Whether these selection metrics come from cross-validation (they carry fold AUCs)."""
    return metrics is not None and metrics.is_cv


def scored_on(metrics: SplitMetrics | None) -> str:
    """What the selection metrics (AUC interval, threshold metrics, ROC) were computed on, in a few words."""
    return POOLED if is_cv(metrics) else VALIDATION


def evaluated_on(metrics: SplitMetrics | None) -> str:
    """The same as a phrase, worded as data/baselines.py words a baseline's."""
    return "the pooled out-of-fold predictions" if is_cv(metrics) else "the validation split"


def objective_name(metrics: SplitMetrics | None) -> str:
    """The figure that ranks the trials."""
    return "mean fold AUC" if is_cv(metrics) else "validation AUC"


def auc_ci(auc: float | None, ci: Sequence[float | None] | None) -> str:
    """``0.566 (95% CI 0.457-0.671)``; the interval left out when there is none."""
    if auc is None:
        return "-"
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return f"{auc:.3f}"
    return f"{auc:.3f} (95% CI {ci[0]:.3f}-{ci[1]:.3f})"


def fold_text(fold_aucs: Sequence[float] | None) -> str:
    """``0.664 ± 0.052 SD over 3 folds (0.610, 0.700, 0.682)``: the mean with its own spread."""
    spread = fold_spread(fold_aucs or [])
    if spread is None or not fold_aucs:
        return "-"
    folds = ", ".join(f"{v:.3f}" for v in fold_aucs)
    return f"{spread[0]:.3f} ± {spread[1]:.3f} SD over {len(fold_aucs)} folds ({folds})"


def selection_figures(metrics: SplitMetrics | None, objective: float | None) -> list[tuple[str, str]]:
    """(name, figure with its own interval) for a trial's selection metrics.

    Cross-validation: the mean fold AUC with the folds' spread, then the pooled out-of-fold
    AUC with its patient-bootstrap interval. A single split: the validation AUC with its interval.
    """
    metrics = metrics or SplitMetrics()
    if metrics.is_cv:
        return [
            ("mean fold AUC (the objective)", fold_text(metrics.fold_aucs)),
            (f"{POOLED} AUC", auc_ci(metrics.auc, metrics.auc_ci95)),
        ]
    return [("validation AUC (the objective)", auc_ci(objective if objective is not None else metrics.auc, metrics.auc_ci95))]


VERDICTS = {
    ABOVE: "above the baseline's 95% CI",
    WITHIN: "within the baseline's 95% CI: not shown to beat it",
    BELOW: "below the baseline's 95% CI",
}


def baseline_verdict(metrics: SplitMetrics | None, baseline: dict[str, Any] | None) -> str | None:
    """Whether the trial beat the study's trivial baseline, judged on the same evaluation.

    The baseline is scored like the trials' selection metrics (pooled out-of-fold under CV,
    the validation split otherwise), so the trial's AUC on that same evaluation is compared
    with the baseline's interval. None without a baseline or an AUC.
    """
    if not metrics or not baseline:
        return None
    where = position(metrics.auc, baseline.get("ci95"))
    if where is None:
        return None
    return (
        f"{scored_on(metrics)} AUC {auc_ci(metrics.auc, metrics.auc_ci95)} is {VERDICTS[where]} "
        f"({baseline.get('name', 'trivial baseline')}: {auc_ci(baseline.get('auc'), baseline.get('ci95'))})"
    )


__all__ = ["ABOVE", "BELOW", "POOLED", "VALIDATION", "WITHIN", "auc_ci", "baseline_verdict", "evaluated_on", "fold_text", "is_cv", "objective_name", "scored_on", "selection_figures"]
