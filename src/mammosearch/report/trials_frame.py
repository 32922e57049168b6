"""A study as one pandas DataFrame: one row per trial, every stored metric a column."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mammosearch.metrics import fold_spread
from mammosearch.metrics.figures import scored_on
from mammosearch.store.results import StudyRecord


def _metric(metrics: dict[str, Any] | None, *keys: str) -> Any:
    value: Any = metrics
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# Below this sensitivity or specificity at the chosen (Youden) threshold a trial is flagged
# near-collapsed: it calls (almost) every image one class, even if its scores are not all on
# one side of 0.5 (the exact single-class case, ``collapsed``).
NEAR_COLLAPSE = 0.1


def near_collapsed(metrics: dict[str, Any] | None) -> bool | None:
    """Whether ``metrics`` (one split) have sensitivity or specificity below NEAR_COLLAPSE at the chosen
    (Youden) threshold; None without metrics. The exact single-class case at 0.5 is ``collapsed``."""
    if not metrics:
        return None
    rates = [_metric(metrics, "at_youden", name) for name in ("recall", "specificity")]
    return any(rate is not None and rate < NEAR_COLLAPSE for rate in rates)


def trials_frame(record: StudyRecord) -> pd.DataFrame:
    """One row per trial, every stored metric as a column (the CSV `report` writes)."""
    rows = []
    for r in record.rows:
        p, v, t = r.params, r.val_metrics, r.test_metrics
        # The stored interval belongs to the metrics' own AUC: the validation AUC, or under
        # cross-validation the pooled out-of-fold AUC, never the mean fold AUC that ranks.
        ci = _metric(v, "auc_ci95") or [None, None]
        folds = _metric(v, "fold_aucs") or []
        spread = fold_spread(folds)
        row: dict[str, Any] = {
            "trial": r.number,
            "state": r.state,
            "family": r.family,
            "head": r.head,
            "fine_tune": p.get("fine_tune"),
            "unfrozen_layers": p.get("unfrozen_layers") if p.get("fine_tune") else None,
            "unfrozen_with_weights": r.unfrozen_with_weights,
            "learning_rate": p.get("learning_rate"),
            "fine_tune_learning_rate": p.get("fine_tune_learning_rate") if p.get("fine_tune") else None,
            "optimizer": p.get("optimizer"),
            "batch_size": p.get("batch_size"),
            "input_size": p.get("input_size"),
            "epochs_trained": r.epochs_trained,
            "best_epoch": r.best_epoch,
            "val_auc": r.value,  # the objective: the validation AUC, or the mean fold AUC under CV
            "val_auc_ci_low": None if folds else ci[0],
            "val_auc_ci_high": None if folds else ci[1],
            "fold_aucs": " ".join(f"{a:.3f}" for a in folds) or None,
            "fold_auc_sd": None if spread is None else spread[1],
            "pooled_oof_auc": _metric(v, "auc") if folds else None,
            "pooled_oof_auc_ci_low": ci[0] if folds else None,
            "pooled_oof_auc_ci_high": ci[1] if folds else None,
            # What the val_* threshold metrics, the Youden threshold and the ROC were computed on.
            "scored_on": scored_on(v) if v else None,
            "val_average_precision": _metric(v, "average_precision"),
            "collapsed": _metric(v, "collapsed"),
            "near_collapsed": near_collapsed(v),
            "youden_threshold": _metric(v, "youden_threshold"),
            "last_reported_val_auc": r.last_intermediate,
            "seconds": r.seconds,
            "fail_reason": r.fail_reason,
            "model_file": str(r.model_path) if r.model_path else None,
        }
        for where in ("at_0.5", "at_youden"):
            suffix = "05" if where == "at_0.5" else "youden"
            for name in ("accuracy", "precision", "recall", "specificity", "f1"):
                row[f"val_{name}_{suffix}"] = _metric(v, where, name)
            cm = _metric(v, where, "confusion_matrix")
            for i, cell in enumerate(("tn", "fp", "fn", "tp")):
                row[f"val_{cell}_{suffix}"] = None if cm is None else cm[i // 2][i % 2]
        if t is not None:
            row["test_auc"] = _metric(t, "auc")
            tci = _metric(t, "auc_ci95") or [None, None]
            row["test_auc_ci_low"], row["test_auc_ci_high"] = tci
            # The test split is scored at the threshold chosen on validation (never re-chosen on test).
            row["test_threshold"] = _metric(t, "youden_threshold")
            row["test_near_collapsed"] = near_collapsed(t)
            for name in ("accuracy", "precision", "recall", "specificity", "f1"):
                row[f"test_{name}_youden"] = _metric(t, "at_youden", name)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values(["val_auc", "trial"], ascending=[False, True], na_position="last", kind="stable")
    return frame.reset_index(drop=True)
