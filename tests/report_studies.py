"""Small real studies for the report tests, written straight into an Optuna SQLite storage.

Trials carry metrics from :func:`mammosearch.metrics.evaluate_predictions` on made-up scores
(no training: seconds, not minutes) and are stored through ``store/record.py`` exactly as a
run stores them; the study's context holds a data fingerprint, baselines and user text
that tries to inject HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna

from mammosearch.metrics import evaluate_predictions
from mammosearch.spec import SplitMetrics, TrialOutcome
from mammosearch.store import record

XSS = "<script>alert(1)</script>"
NAME = f"ward {XSS} study"
LR = optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
BATCH = optuna.distributions.CategoricalDistribution([8, 16, 32])
FAMILY = optuna.distributions.CategoricalDistribution(["cnn"])


def split_metrics(separation: float, seed: int, threshold: float | None = None, n: int = 40) -> dict[str, Any]:
    """Metrics of one split whose malignant scores sit ``separation`` above the benign ones."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    scores = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + separation * labels - separation / 2)))
    metrics = evaluate_predictions(labels, scores, threshold)
    metrics["auc_ci95"] = [max(0.0, metrics["auc"] - 0.1), min(1.0, metrics["auc"] + 0.08)]
    return metrics


def near_collapsed_metrics(seed: int) -> dict[str, Any]:
    """Metrics whose Youden operating point calls almost everything benign (sensitivity 0.05)."""
    metrics = split_metrics(0.3, seed)
    metrics["at_youden"] = {**metrics["at_youden"], "recall": 0.05, "sensitivity": 0.05, "specificity": 0.98}
    return metrics


FINGERPRINT = {
    "version": 2, "description": f"folder {XSS}", "images": 80,
    "counts": [{"split": "train", "benign": 20, "malignant": 20, "patients": 40}, {"split": "val", "benign": 10, "malignant": 10, "patients": 20}],
    "photometry": {"policy": "auto", "flipped": 0, "looks_inverted": 1, "undetermined": 0, "tag_inverted": 0, "table": []},
    "patients": {"source": "regex", "patients": 60, "both_classes": 0},
    "near_duplicates": {"pairs": 1, "max_distance": 12, "listed": [{"a": f"a{XSS}.png", "split_a": "train", "b": "b.png", "split_b": "val", "distance": 3}]},
    "shortcuts": None,
    "sizes": {"stored_min": [64, 64], "stored_median": [64, 64], "stored_max": [64, 64], "image_size": 64, "upscaled": 0, "bits": {"8": 80}},
    "warnings": [f"fingerprint warning {XSS}: 1 near-duplicate pair crosses splits"],
}


def make_study(tmp_path: Path, *, name: str = NAME, test_split: bool = True, complete: int = 3, batch_sizes: tuple[int, ...] = (8, 16, 32)) -> str:
    """A study of ``complete`` complete trials (trial 1 near-collapsed) and one failed trial; returns its storage URL."""
    storage = f"sqlite:///{tmp_path / 'report.db'}"
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    record.save_context(study, record.StudyContext(
        data_description=f"folder {XSS} with 80 images", decode_recipe=f"decode: Pillow, {XSS}", fingerprint=FINGERPRINT,
        trivial_baseline={"name": "trivial baseline (intensity histogram)", "auc": 0.61, "ci95": [0.5, 0.72], "evaluated_on": "the validation split"},
        linear_probes=[{"name": "linear probe (vgg16, block5_pool)", "auc": 0.66, "ci95": [0.55, 0.77], "evaluated_on": "the validation split"}],
    ))
    for number in range(complete):
        val = near_collapsed_metrics(number) if number == 1 else split_metrics(2.5 - number, seed=number)
        test = split_metrics(2.0 - number, seed=100 + number, threshold=val["youden_threshold"]) if test_split else None
        # A model file whose path holds markup (its "</" makes a sub-folder): the page shows the path.
        model = tmp_path / f"model{number}{XSS}.keras"
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"not a model")
        outcome = TrialOutcome(val_metrics=SplitMetrics.from_record(val), test_metrics=SplitMetrics.from_record(test), best_epoch=2, epochs_trained=3, model_path=str(model))
        attrs = record.to_user_attrs(outcome)
        lr, batch = 10 ** (-4 + number * 0.6), batch_sizes[number % len(batch_sizes)]
        attrs["params"] = {"family": "cnn", "learning_rate": lr, "batch_size": batch}
        study.add_trial(optuna.trial.create_trial(
            value=float(val["auc"]), params={"family": "cnn", "learning_rate": lr, "batch_size": batch},
            distributions={"family": FAMILY, "learning_rate": LR, "batch_size": BATCH}, user_attrs=attrs,
        ))
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"fail_reason": f"out of memory {XSS}"}))
    return storage
