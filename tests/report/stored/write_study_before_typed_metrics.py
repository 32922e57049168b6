"""Writes study_before_typed_metrics.json: trials' user attributes exactly as the code before
typed metrics (commit 37548dd) stored them, so a test can prove such a study still reports.

Run once with that commit's code on the path (it is kept to show how the file was made):
    PYTHONPATH=<checkout of 37548dd>/src python tests/report/stored/write_study_before_typed_metrics.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mammosearch.metrics import evaluate_predictions
from mammosearch.store import record
from mammosearch.trial.outcome import TrialOutcome


def split(separation: float, seed: int, threshold: float | None = None, n: int = 24) -> dict:
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    scores = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + separation * labels - separation / 2)))
    metrics = evaluate_predictions(labels, scores, threshold)
    metrics["auc_ci95"] = [round(max(0.0, metrics["auc"] - 0.1), 6), round(min(1.0, metrics["auc"] + 0.08), 6)]
    return metrics


trials = []
for number in range(2):
    val = split(2.0 - number, seed=number)
    test = split(1.5 - number, seed=10 + number, threshold=val["youden_threshold"])
    outcome = TrialOutcome(val_metrics=val, test_metrics=test, best_epoch=2, epochs_trained=3)
    attrs = record.to_user_attrs(outcome)
    attrs["params"] = {"family": "cnn", "learning_rate": 10 ** (-3 - number), "batch_size": 16}
    trials.append({"value": val["auc"], "user_attrs": attrs})
# A cross-validated trial: fold AUCs, their mean and the pooled out-of-fold metrics.
cv = split(1.2, seed=5)
cv.update({"fold_aucs": [0.71, 0.64, 0.69], "mean_fold_auc": float(np.mean([0.71, 0.64, 0.69])), "pooled": "out-of-fold predictions of all folds"})
attrs = record.to_user_attrs(TrialOutcome(val_metrics=cv, best_epoch=1, epochs_trained=1, step_unit="fold"))
attrs["params"] = {"family": "cnn", "learning_rate": 1e-4, "batch_size": 16}
trials.append({"value": cv["mean_fold_auc"], "user_attrs": attrs})
context = record.to_user_attrs_of(record.StudyContext(data_description="a study written before typed metrics"))
out = Path(__file__).with_name("study_before_typed_metrics.json")
out.write_text(json.dumps({"written_by": "mammosearch at commit 37548dd", "study_attrs": context, "trials": trials}, indent=1) + "\n", encoding="utf-8")
print(out, out.stat().st_size)
