"""The model card written beside an exported model: what it is, how it was chosen, how to feed it."""

from __future__ import annotations

import importlib.metadata
import platform
from datetime import datetime, timezone
from typing import Any

from mammosearch.models.registry import FAMILIES
from mammosearch.store.results import StudyRecord, TrialRow
from mammosearch.store.storage import mask_url

PACKAGES = ("mammosearch", "keras", "tensorflow", "jax", "torch", "optuna", "numpy", "scikit-learn", "pillow")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def model_card(record: StudyRecord, row: TrialRow, keras_model: Any) -> dict[str, Any]:
    params = row.params
    input_shape = [int(d) for d in keras_model.input_shape[1:]]
    family = params.get("family")
    entry = FAMILIES.get(str(family))
    preprocessing = entry.preprocessing if entry is not None else "unknown family"
    val = row.val_metrics or {}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "study": record.name,
        "storage": mask_url(record.storage_url),
        "trial": row.number,
        "objective": {"name": "validation ROC AUC", "value": row.value, "best_epoch": row.best_epoch},
        "model": {
            "family": family,
            "head": params.get("head"),
            "fine_tune": params.get("fine_tune"),
            "unfrozen_layers": params.get("unfrozen_layers") if params.get("fine_tune") else 0,
            "backbone_weights": params.get("weights"),
            "parameters": int(keras_model.count_params()),
        },
        "hyperparameters": params,
        "input": {
            "shape": input_shape,
            "channels": input_shape[-1],
            "dtype": "float32",
            "value_range": "raw pixel values 0..255 (8-bit image), resized to the input shape",
            "preprocessing": preprocessing,
        },
        "output": "probability of malignancy, shape (None, 1)",
        "threshold": {
            "recommended": val.get("youden_threshold"),
            "chosen_on": "validation split (Youden's J)",
            "default": 0.5,
        },
        "metrics": {"validation": val, "test": row.test_metrics},
        "data": record.context.data_description,
        "decode": record.context.decode_recipe,
        "data_fingerprint": record.context.fingerprint,
        "packages": package_versions(),
        "intended_use": "research on benign-vs-malignant lesion classification; not a medical device",
    }
