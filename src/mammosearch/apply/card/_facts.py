"""The model card written beside an exported model: what it is, how it was chosen, how to feed it.

``model_card.json`` is what ``predict``, ``evaluate`` and ``explain`` read (input size,
threshold, operating points, photometry, the training patients); ``MODEL_CARD.md``
(``model_card_text.py``) says the same for a reviewer.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from datetime import datetime, timezone
from typing import Any

import numpy as np

from mammosearch.data import Task
from mammosearch.metrics import SCREENING_PREVALENCES, at_prevalences, baseline_verdict, is_cv, operating_points
from mammosearch.models import FAMILIES
from mammosearch.report import bbc_estimate, honest_test, read_predictions
from mammosearch.spec import SENSITIVITY, SPECIFICITY, SplitMetrics
from mammosearch.store import StudyRecord, TrialRow, mask_url

PACKAGES = ("mammosearch", "keras", "tensorflow", "jax", "torch", "optuna", "numpy", "scikit-learn", "pillow", "pydicom")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def patient_digest(patient_id: str) -> str:
    """A patient id as the card stores it: hashed, so a shared card does not carry ids in the clear."""
    return hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:16]


def selection_scores(predictions: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Labels and scores the threshold was chosen on: pooled out-of-fold under CV, else validation."""
    chosen = predictions.get("out_of_fold") or predictions.get("val")
    if not chosen or not chosen.get("scores"):
        return None
    return np.asarray(chosen["labels"]), np.asarray(chosen["scores"], dtype=float)


def model_card(record: StudyRecord, row: TrialRow, keras_model: Any) -> dict[str, Any]:
    params = row.params
    context = record.context
    input_shape = [int(d) for d in keras_model.input_shape[1:]]
    family = params.get("family")
    entry = FAMILIES.get(str(family))
    val = row.val_metrics
    task = Task.from_json(context.task)
    selection = selection_scores(read_predictions(row.kept_model_path))
    points = operating_points(*selection) if selection is not None else {}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "study": record.name,
        "storage": mask_url(record.storage_url),
        "trial": row.number,
        "task": task.to_json(),
        "intended_use": task.intended_use,
        "objective": {"name": "mean fold ROC AUC (cross-validation)" if is_cv(val) else "validation ROC AUC", "value": row.value, "best_epoch": row.best_epoch},
        "model": {
            "family": family,
            "head": params.get("head"),
            "fine_tune": params.get("fine_tune"),
            "unfrozen_layers": params.get("unfrozen_layers") if params.get("fine_tune") else 0,
            "backbone_weights": params.get("weights") or ("none (random initialisation)" if family != "cnn" else "not applicable"),
            "parameters": int(keras_model.count_params()),
        },
        "hyperparameters": params,
        "input": {
            "shape": input_shape,
            "channels": input_shape[-1],
            "dtype": "float32",
            "value_range": "raw pixel values 0..255 (8-bit image), resized to the input shape",
            "preprocessing": entry.preprocessing if entry is not None else "unknown family",
            "photometry": context.photometry or "auto",  # what predict does: read by apply/bundle.py
            # What the study asked for (data.photometry, as the data check applied it), when it differs.
            "photometry_requested": _requested_photometry(context.fingerprint, context.photometry),
            # Files are fitted to this size first (and flipped there), then to the input size, as in training:
            # a square's side (stretched without crop), or "HxW" (aspect ratio kept, padded).
            "data_image_size": context.image_size,
            # Before that resize: crop to the breast and chest wall to the left, when training did (read by apply/bundle.py).
            "framing": context.framing,
        },
        "output": f"probability of {task.positive}, shape (None, 1)",
        "threshold": {
            "recommended": None if val is None else val.youden_threshold,
            "chosen_on": ("pooled out-of-fold predictions" if is_cv(val) else "validation split") + " (Youden's J)",
            "default": 0.5,
        },
        "operating_points": points,
        "predictive_values": predictive_values(task, selection, val, points),
        # As studies store them (SplitMetrics.to_record): every rate of the table at 0.5 and at the threshold.
        "metrics": {"validation": {} if val is None else val.to_record(), "test": None if row.test_metrics is None else row.test_metrics.to_record()},
        "estimates": {"bbc_cv": bbc_estimate(record), "honest_test": honest_test(row)},
        # The study's one trivial baseline, recorded when the study was set up, and where this model stands against it.
        "baseline": None if not context.trivial_baseline else {**context.trivial_baseline, "verdict": baseline_verdict(val, context.trivial_baseline)},
        "data": context.data_description,
        "patients": {
            "grouping": context.patient_source,
            "split_seed": context.split_seed,
            # Hashed ids of the patients behind training and selection: `evaluate` refuses data sharing them.
            "training_sha256_16": [patient_digest(p) for p in context.training_patients or []],
        },
        "decode": context.decode_recipe,
        "data_fingerprint": context.fingerprint,
        "limitations": limitations(record, row),
        "packages": package_versions(),
    }


def screening_task(task: Task) -> bool:
    """Whole mammograms (or images) labelled cancer / no cancer: the model could meet a screening population."""
    cancer = task.positive.lower() in ("malignant", "cancer") or "cancer" in task.positive.lower()
    return cancer and task.unit in ("whole mammogram", "image")


def predictive_values(task: Task, selection: tuple[np.ndarray, np.ndarray] | None, val: SplitMetrics | None,
                      points: dict[str, dict[str, float]]) -> dict[str, Any]:
    """PPV and NPV of the recommended threshold and each operating point, at the prevalences they are stated for.

    Always the study's own prevalence (the share of positives in the data the thresholds were
    chosen on); for a screening task also 0.5% and 1%, what a screening population has.
    """
    prevalences: list[dict[str, Any]] = []
    if selection is not None and len(selection[0]):
        labels = selection[0]
        positives = int((labels == 1).sum())
        prevalences.append({"prevalence": positives / len(labels),
                            "source": f"this study: {positives} of {len(labels)} images {task.positive}, in the data the thresholds were chosen on"})
    if screening_task(task):
        prevalences += [{"prevalence": p, "source": "a screening population (about 5 to 10 cancers per 1000 examinations)"} for p in SCREENING_PREVALENCES]
    at = None if val is None else val.at_youden
    youden = {"threshold": None if val is None else val.youden_threshold,
              "sensitivity": None if at is None else at[SENSITIVITY], "specificity": None if at is None else at[SPECIFICITY]}
    rows: dict[str, dict[str, Any]] = {"recommended (Youden)": youden, **points}
    return {"prevalences": prevalences, "points": at_prevalences(rows, [p["prevalence"] for p in prevalences])}


def limitations(record: StudyRecord, row: TrialRow) -> list[str]:
    """What a reader must know before trusting the numbers, from the study's own facts."""
    context = record.context
    val = row.val_metrics
    notes = []
    if val is not None and val.n is not None:
        which = "pooled out-of-fold AUC" if val.is_cv else "validation AUC"
        notes.append(f"{'scored out of fold' if val.is_cv else 'validated'} on {val.n} images ({val.n_positive} positive); the {which}'s 95% CI is {_ci(val.auc_ci95)}")
    if not row.test_metrics and not context.cv_pool:
        notes.append("no test split: the validation AUC chose this model among all trials and is optimistic")
    elif context.cv_pool:
        notes.append("the mean fold AUC chose this model among all trials; the BBC-CV estimate corrects for that")
    if row.params.get("weights") in (None, "none"):
        notes.append("backbone trained from random initialisation (no pretrained weights)")
    if "synthetic" in (context.data_description or ""):
        notes.append("trained on synthetic phantoms: says nothing about real mammograms")
    if context.patient_source == "file":
        notes.append("the data named no patients: images of one woman may sit in both training and validation")
    notes.extend(f"data check: {w}" for w in (context.fingerprint or {}).get("warnings", []))
    notes.append("one data source and one population; performance on other scanners, sites or populations is unknown until evaluated there")
    return notes


def _requested_photometry(fingerprint: dict[str, Any] | None, recorded: str | None) -> str | None:
    """data.photometry as the study ran it, when the recorded policy (what predict applies) differs.

    Images that were generated rather than decoded from files are recorded ``as_is`` whatever
    the space asked (nothing was checked or flipped, so predict must not flip either); the
    card then says both, instead of an ``as_is`` the user never wrote.
    """
    asked = ((fingerprint or {}).get("photometry") or {}).get("policy")
    return str(asked) if asked and recorded and asked != recorded else None


def _ci(ci: tuple[float, float] | None) -> str:
    return f"{ci[0]:.3f}-{ci[1]:.3f}" if ci else "unknown"
