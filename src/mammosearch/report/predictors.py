"""The predictors a study can hand over, side by side on the same images: single model, top-K ensemble, fold ensemble, each with and without flip TTA.

All from what the kept trials stored (``predictions.json``; ``trial/extra_scores.py`` says
which records), so no model runs here. Each row is scored on the same pooled out-of-fold
images (under CV; else the first validation split) and the same test images, with the AUC's
95% CI by patient. The fold ensemble has no out-of-fold score: every image trained k-1 of
its k models; its column says so rather than show the members' pooled scores under its name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.metrics import evaluate_predictions, patient_auc_ci
from mammosearch.report.ensemble import members, split_mean, stored_of
from mammosearch.store import StudyRecord

NOT_OUT_OF_FOLD = "n/a: every image trained k-1 of the fold models"


def _scored(record: dict[str, Any] | None, scores: np.ndarray | None = None) -> dict[str, Any] | None:
    if not record or not record.get("scores"):
        return None
    values = np.asarray(record["scores"] if scores is None else scores, dtype=float)
    labels, patients = np.asarray(record["labels"]), np.asarray(record["patient_ids"])
    return {"auc": evaluate_predictions(labels, values)["auc"], "ci95": patient_auc_ci(labels, values, patients), "images": int(len(labels))}


def _mean_of(stored: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    found = split_mean(stored, key)
    return None if found is None else _scored(found[0], found[1])


def predictor_rows(record: StudyRecord, k: int) -> list[dict[str, Any]]:
    """One row per predictor the stored scores allow: ``predictor``, ``tta``, ``selection`` (out-of-fold or validation) and ``test``."""
    chosen = members(record, k)
    if not chosen:
        return []
    stored = stored_of(chosen)
    best = stored[0]
    pooled = "out_of_fold" if best.get("out_of_fold") else "val"
    on = "pooled out-of-fold" if pooled == "out_of_fold" else "validation"
    rows: list[dict[str, Any]] = []
    for tta, suffix in (("none", ""), ("flip", "_flip")):
        if tta != "none" and not best.get(f"{pooled}{suffix}"):
            continue  # the study did not record flip scores (evaluation.tta: none)
        rows.append({"predictor": f"single model (trial {chosen[0].number})", "tta": tta,
                     "selection": _scored(best.get(f"{pooled}{suffix}")), "test": _scored(best.get(f"test{suffix}"))})
        if len(chosen) > 1:
            rows.append({"predictor": f"top-{len(chosen)} ensemble (trials {', '.join(str(r.number) for r in chosen)})", "tta": tta,
                         "selection": _mean_of(stored, f"{pooled}{suffix}"), "test": _mean_of(stored, f"test{suffix}")})
        folds = best.get(f"test_fold_ensemble{suffix}")
        if folds:
            n_folds = len(chosen[0].val_metrics.fold_aucs or ()) if chosen[0].val_metrics is not None else 0
            rows.append({"predictor": f"fold ensemble (trial {chosen[0].number}, {n_folds} folds)", "tta": tta,
                         "selection": NOT_OUT_OF_FOLD, "test": _scored(folds)})
    return [{**row, "selection_on": on} for row in rows] if len(rows) > 1 else []
