"""An ensemble of the top K trials: which trials, and its scores from their stored predictions.

The ensemble averages the members' probabilities. Its AUC comes from what the trials
stored (pooled out-of-fold scores under cross-validation, the kept trials' validation and
test predictions otherwise), so it is reported without running a model; the exported
ensemble (``export_ensemble.py``) computes the same average.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.metrics import evaluate_predictions, patient_auc_ci
from mammosearch.report.subgroups import read_predictions
from mammosearch.store import StudyRecord, TrialRow


def members(record: StudyRecord, k: int) -> list[TrialRow]:
    """The best ``k`` complete trials with a saved model and the best trial's input shape (a model has one input)."""
    ranked = [r for r in record.ranked() if r.kept_model_path is not None]
    if not ranked:
        return []
    size = ranked[0].params.get("input_size")
    return [r for r in ranked if r.params.get("input_size") == size][:k]


def _score(labels: np.ndarray, scores: np.ndarray, patients: np.ndarray) -> dict[str, Any]:
    return {"auc": evaluate_predictions(labels, scores)["auc"], "ci95": patient_auc_ci(labels, scores, patients), "images": int(len(labels))}


def _pooled_mean(record: StudyRecord, chosen: list[TrialRow]) -> np.ndarray | None:
    """The members' mean out-of-fold scores, in the CV pool's order (None without CV)."""
    if not record.context.cv_pool or not chosen or any(r.outcome.oof_scores is None for r in chosen):
        return None
    return np.mean([r.outcome.oof_scores or [] for r in chosen], axis=0)


def split_mean(stored: list[dict[str, Any]], split: str) -> tuple[dict[str, Any], np.ndarray] | None:
    """The first member's record of ``split`` and the members' mean scores, when every member scored the same images."""
    records = [p.get(split) for p in stored]
    if not records or any(rec is None for rec in records) or len({tuple(rec["indices"]) for rec in records if rec}) != 1:
        return None
    first = records[0]
    assert first is not None
    return first, np.mean([rec["scores"] for rec in records if rec], axis=0)


def stored_of(chosen: list[TrialRow]) -> list[dict[str, Any]]:
    return [read_predictions(r.kept_model_path) for r in chosen]


def selection_mean(record: StudyRecord, k: int, tta: str = "none") -> tuple[np.ndarray, np.ndarray] | None:
    """Labels and the ensemble's mean scores on the data a threshold is chosen on (out-of-fold, else validation).

    With ``tta`` (``flip``): the members' stored flip-TTA scores, None when they did not store them.
    """
    chosen = members(record, k)
    if tta != "none":
        stored = stored_of(chosen)
        found = split_mean(stored, f"out_of_fold_{tta}") or split_mean(stored, f"val_{tta}")
        return None if found is None else (np.asarray(found[0]["labels"]), found[1])
    pooled = _pooled_mean(record, chosen)
    if pooled is not None:
        return np.asarray((record.context.cv_pool or {})["labels"]), pooled
    val = split_mean(stored_of(chosen), "val")
    return None if val is None else (np.asarray(val[0]["labels"]), val[1])


def ensemble_scores(record: StudyRecord, k: int) -> dict[str, Any] | None:
    """The ensemble's AUC with CI per split, beside the best single trial's; None with fewer than two members."""
    chosen = members(record, k)
    if len(chosen) < 2:
        return None
    result: dict[str, Any] = {"members": [r.number for r in chosen], "splits": {}}
    pool = record.context.cv_pool
    pooled = _pooled_mean(record, chosen)
    if pool and pooled is not None:
        labels, patients = np.asarray(pool["labels"]), np.asarray(pool["patient_ids"])
        best = np.asarray(chosen[0].outcome.oof_scores)
        result["splits"]["out_of_fold"] = {"ensemble": _score(labels, pooled, patients), "best_single": _score(labels, best, patients)}
    stored = stored_of(chosen)
    for split in ("val", "test"):
        if split == "val" and "out_of_fold" in result["splits"]:
            continue
        found = split_mean(stored, split)
        if found is None:
            continue  # every member must have scored the same images
        first, mean = found
        labels, patients = np.asarray(first["labels"]), np.asarray(first["patient_ids"])
        result["splits"][split] = {"ensemble": _score(labels, mean, patients), "best_single": _score(labels, np.asarray(first["scores"]), patients)}
    return result if result["splits"] else None
