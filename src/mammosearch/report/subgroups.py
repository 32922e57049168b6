"""The best trial's AUC within subgroups the data fingerprint defines, and the data check's shortcut fit beside it.

A model that learned the photometry or the site instead of the lesion scores well overall
and near chance inside each group; reading the AUC per group shows it. Groups: images that
looked inverted or not (before any flip), and each acquisition site when the data names one.
Predictions are joined to the fingerprint by source file, so nothing depends on load order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.metrics import evaluate_predictions, patient_auc_ci

MIN_PER_CLASS = 2  # a group needs both classes to have an AUC


def _groups(per_image: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Subgroup kind -> {source -> group name}."""
    sources = per_image.get("sources", [])
    kinds: dict[str, dict[str, str]] = {}
    inverted = per_image.get("looks_inverted", [])
    if any(inverted):
        kinds["photometry"] = {s: ("looked inverted" if flag else "usual photometry") for s, flag in zip(sources, inverted)}
    sites = per_image.get("sites", [])
    if len({site for site in sites if site}) > 1:
        kinds["site"] = {s: (site or "(none)") for s, site in zip(sources, sites)}
    return kinds


def subgroup_aucs(predictions: dict[str, Any], per_image: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (split, kind, group): images, AUC and its patient-bootstrap CI."""
    rows: list[dict[str, Any]] = []
    kinds = _groups(per_image)
    if not kinds:
        return rows
    for split in ("out_of_fold", "val", "test"):
        record = predictions.get(split)
        if not record or "sources" not in record:
            continue
        if split == "val" and "out_of_fold" in predictions:
            continue  # under CV the pooled out-of-fold predictions cover the first fold's too
        sources = np.asarray(record["sources"])
        labels, scores, patients = np.asarray(record["labels"]), np.asarray(record["scores"]), np.asarray(record["patient_ids"])
        for kind, group_of in kinds.items():
            names = np.asarray([group_of.get(str(s), "(unknown)") for s in sources])
            for name in sorted(set(names)):
                mask = names == name
                counts = np.bincount(labels[mask].astype(int), minlength=2)
                auc = evaluate_predictions(labels[mask], scores[mask])["auc"] if counts.min() >= MIN_PER_CLASS else None
                rows.append({
                    "split": split, "kind": kind, "group": name, "benign": int(counts[0]), "malignant": int(counts[1]),
                    "auc": auc, "ci95": patient_auc_ci(labels[mask], scores[mask], patients[mask]) if auc is not None else None,
                })
    return rows


def read_per_image(fingerprint_file: Path) -> dict[str, Any]:
    try:
        stored: dict[str, Any] = json.loads(fingerprint_file.read_text(encoding="utf-8")).get("per_image", {})
        return stored
    except (OSError, ValueError):
        return {}


def read_predictions(model_path: Path | None) -> dict[str, Any]:
    if model_path is None:
        return {}
    try:
        stored: dict[str, Any] = json.loads((model_path.parent / "predictions.json").read_text(encoding="utf-8"))
        return stored
    except (OSError, ValueError):
        return {}


def shortcut_check(fingerprint: dict[str, Any] | None) -> dict[str, Any] | None:
    """The data check's shortcut fit (image statistics, fitted on the training split): a warning sign, not the study's baseline."""
    if not fingerprint or not fingerprint.get("shortcuts"):
        return None
    shortcut = fingerprint["shortcuts"]
    return {"statistics": shortcut["statistics"], "scores": shortcut["scores"], "predicts_label": shortcut.get("predicts_label", False)}
