"""Figures that survive selection: BBC-CV under cross-validation, the selected trial's test AUC otherwise.

The best trial's validation AUC is the maximum over every trial of the study and so an
optimistic estimate of the selected model; the report says which figure to quote.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.metrics import bbc_cv
from mammosearch.store import StudyRecord, TrialRow


def bbc_estimate(record: StudyRecord, n_boot: int = 1000) -> dict[str, Any] | None:
    """BBC-CV over the complete trials' stored pooled out-of-fold scores (None without CV)."""
    pool = record.context.cv_pool
    if not pool:
        return None
    labels = np.asarray(pool["labels"])
    rows = [r for r in record.ranked() if r.outcome.oof_scores is not None and len(r.outcome.oof_scores) == len(labels)]
    if len(rows) < 2:
        return None
    estimate = bbc_cv(np.asarray([r.outcome.oof_scores for r in rows]), labels, np.asarray(pool["patient_ids"]), n_boot=n_boot, seed=0)
    if estimate is None:
        return None
    return {
        "auc": estimate.auc,
        "ci95": list(estimate.ci95),
        "trials": estimate.configurations,
        "resamples": estimate.resamples,
        "most_chosen_trial": rows[estimate.most_chosen].number,
        "most_chosen_share": estimate.most_chosen_share,
    }


def honest_test(best: TrialRow | None) -> dict[str, Any] | None:
    """The selected trial's test-split AUC: the test split chose nothing, so this one is not optimistic."""
    test = None if best is None else best.test_metrics
    if best is None or test is None or test.auc is None:
        return None
    return {"trial": best.number, "auc": test.auc, "ci95": None if test.auc_ci95 is None else list(test.auc_ci95)}
