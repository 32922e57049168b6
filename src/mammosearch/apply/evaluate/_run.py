"""External validation: a found model scored on another data set, with every metric and its interval.

The data comes from any loader (a space's ``data`` section), so a second site's folder, a
CSV manifest or DICOM files are read exactly as training read its own. The model's
threshold and operating points were chosen on its own validation data and are applied
here unchanged: re-choosing them on the evaluation set would flatter it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mammosearch.apply.bundle import ModelBundle
from mammosearch.apply.card import patient_digest
from mammosearch.apply.training_range import RangeCheck, TrainingRange, check_range, facts_of_provenance
from mammosearch.config import Space
from mammosearch.data import ImageSet, source
from mammosearch.data.arrays import chunks, rows_within
from mammosearch.data.decode import resize_images
from mammosearch.errors import ApplyError
from mammosearch.metrics import calibration, patient_auc_ci, pr_points, score_split, threshold_metric_cis, threshold_metrics
from mammosearch.report import subgroup_aucs
from mammosearch.spec import SplitMetrics


@dataclass(frozen=True)
class Evaluation:
    metrics: dict[str, Any]  # JSON-ready: what metrics.json holds
    split: SplitMetrics  # the same metrics typed: at the model's threshold, every rate of the table
    labels: np.ndarray
    scores: np.ndarray
    images: ImageSet
    checked: RangeCheck | None = None  # the evaluation images against the training data's fingerprint


def shared_patients(bundle: ModelBundle, images: ImageSet) -> list[str]:
    """The evaluation data's patient ids that also trained or selected the model (hashed comparison)."""
    digests = bundle.training_patient_digests
    if not digests or not images.carries_patients:
        return []
    return sorted({str(p) for p in images.patient_ids if patient_digest(str(p)) in digests})


def refuse_other_framing(bundle: ModelBundle, space: Space) -> None:
    """The data must be cropped and turned as the model's training data were, or its scores mean nothing."""
    wanted, given = bundle.framing, source(space.data.source).framing(space.data)
    if wanted == given:
        return
    keys = ", ".join(f"data.{key}: {str(value).lower()}" for key, value in wanted.to_json().items())
    raise ApplyError(f"the model was trained on images framed as {keys} ({wanted.describe()}), but this data would be "
                     f"{given.describe()}; set {keys} in the evaluation data")


def refuse_shared_patients(bundle: ModelBundle, images: ImageSet) -> None:
    shared = shared_patients(bundle, images)
    if shared:
        shown = ", ".join(shared[:20]) + (f" and {len(shared) - 20} more" if len(shared) > 20 else "")
        raise ApplyError(
            f"{len(shared)} patient(s) of this data also trained or selected the model ({bundle.origin}): {shown}; "
            "an evaluation on them is not external. Leave them out (or evaluate only --split test of the study's own data)"
        )


def evaluate_model(bundle: ModelBundle, images: ImageSet, per_image: dict[str, Any] | None = None) -> Evaluation:
    from mammosearch.trial.fit import predict_scores

    if images.channels != bundle.channels:
        raise ApplyError(f"the data has {images.channels} channel(s), the model takes {bundle.channels}; set data.color to "
                         f"{'rgb' if bundle.channels == 3 else 'grayscale'}")
    labels = images.labels.astype(int)
    if np.unique(labels).size < 2:
        raise ApplyError(f"the evaluation data holds only {bundle.task.positive if labels[0] else bundle.task.negative} images; "
                         "an AUC needs both classes")
    # A chunk of whole batches at a time, so a large set is never resized whole (the same batches, the same scores).
    step = max(1, rows_within(images.images, item_bytes=4) // bundle.batch_size) * bundle.batch_size
    scores = np.concatenate([
        predict_scores(bundle.model, resize_images(chunk, bundle.input_size), bundle.batch_size)
        for _, chunk in chunks(images.images, step)
    ])
    checked = check_range(TrainingRange.from_card(bundle.card, bundle.photometry), facts_of_provenance(images.provenance))
    patients = images.patient_ids
    interval = patient_auc_ci(labels, scores, patients)
    split = replace(score_split(labels, scores, threshold=bundle.threshold), auc_ci95=None if interval is None else (interval[0], interval[1]))
    reliability = calibration(labels, scores)
    main = {**split.to_record(), "auc_ci95": interval,
            "at_threshold_ci95": threshold_metric_cis(labels, scores, patients, bundle.threshold), "brier": reliability["brier"]}
    points = {}
    for name, point in (bundle.card.get("operating_points") or {}).items():
        at = threshold_metrics(labels, scores, point["threshold"])
        at["ci95"] = threshold_metric_cis(labels, scores, patients, point["threshold"])
        at["on_model_validation"] = {"sensitivity": point["sensitivity"], "specificity": point["specificity"]}
        points[name] = at
    record = {"sources": [str(s) for s in images.sources], "labels": labels.tolist(), "scores": scores.tolist(), "patient_ids": [str(p) for p in patients]}
    metrics = {
        "model": bundle.origin,
        "tta": bundle.tta,
        "data": images.description,
        "task": bundle.task.to_json(),
        "patients": int(np.unique(patients).size),
        "threshold": {"value": bundle.threshold, "chosen_on": (bundle.card.get("threshold") or {}).get("chosen_on", "model card")},
        "metrics": main,
        "operating_points": points,
        "calibration": reliability,
        "precision_recall": pr_points(labels, scores),
        "subgroups": subgroup_aucs({"test": record}, per_image or {}),
        "outside_training": checked.to_json(),
    }
    return Evaluation(metrics, split, labels, scores, images, checked)
