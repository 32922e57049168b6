"""A study as one pandas DataFrame: one row per trial, every stored metric a column."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mammosearch.metrics import fold_spread, scored_on
from mammosearch.spec import RATES, ThresholdMetrics, near_collapsed
from mammosearch.store import StudyRecord


def rate_columns(split: str, at: str) -> list[str]:
    """The CSV columns of every rate of the table at one threshold: ``val_recall_05``, ``test_npv_youden``, ..."""
    return [f"{split}_{rate.key}_{at}" for rate in RATES]


CONFUSION_CELLS = ("tn", "fp", "fn", "tp")


def _rates(row: dict[str, Any], split: str, at: str, metrics: ThresholdMetrics | None) -> None:
    for rate, column in zip(RATES, rate_columns(split, at)):
        row[column] = None if metrics is None else metrics[rate]


def trials_frame(record: StudyRecord) -> pd.DataFrame:
    """One row per trial, every stored metric as a column (the CSV `report` writes)."""
    rows = []
    for r in record.rows:
        p, v, t = r.params, r.val_metrics, r.test_metrics
        # The stored interval belongs to the metrics' own AUC: the validation AUC, or under
        # cross-validation the pooled out-of-fold AUC, never the mean fold AUC that ranks.
        ci = (v.auc_ci95 if v else None) or (None, None)
        folds = list(v.fold_aucs or []) if v else []
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
            "pooled_oof_auc": v.auc if v and folds else None,
            "pooled_oof_auc_ci_low": ci[0] if folds else None,
            "pooled_oof_auc_ci_high": ci[1] if folds else None,
            # What the val_* threshold metrics, the Youden threshold and the ROC were computed on.
            "scored_on": scored_on(v) if v else None,
            "val_average_precision": v.average_precision if v else None,
            "collapsed": v.collapsed if v else None,
            "near_collapsed": near_collapsed(v),
            "youden_threshold": v.youden_threshold if v else None,
            "last_reported_val_auc": r.last_intermediate,
            "seconds": r.seconds,
            "fail_reason": r.fail_reason,
            "model_file": str(r.model_path) if r.model_path else None,
        }
        for suffix, at in (("05", v.at_05 if v else None), ("youden", v.at_youden if v else None)):
            _rates(row, "val", suffix, at)
            counts = None if at is None else at.confusion
            for cell in CONFUSION_CELLS:
                row[f"val_{cell}_{suffix}"] = None if counts is None else getattr(counts, cell)
        if t is not None:
            row["test_auc"] = t.auc
            row["test_auc_ci_low"], row["test_auc_ci_high"] = t.auc_ci95 or (None, None)
            # The test split is scored at the threshold chosen on validation (never re-chosen on test).
            row["test_threshold"] = t.youden_threshold
            row["test_near_collapsed"] = near_collapsed(t)
            _rates(row, "test", "youden", t.at_youden)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values(["val_auc", "trial"], ascending=[False, True], na_position="last", kind="stable")
    return frame.reset_index(drop=True)
