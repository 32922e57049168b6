"""What ``evaluate`` writes: metrics.json, predictions.csv, subgroups.csv and the PNG curves."""

from __future__ import annotations

import csv
from pathlib import Path

from mammosearch.apply.evaluate._run import Evaluation
from mammosearch.files import write_atomically, write_json
from mammosearch.report import RocCurve, plot_confusion_matrix, plot_precision_recall, plot_reliability, plot_roc_curves


def write_evaluation(evaluation: Evaluation, out: Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = evaluation.metrics
    main = metrics["metrics"]
    task = metrics["task"]
    classes = (task["negative"], task["positive"])
    threshold = metrics["threshold"]["value"]
    written = [write_json(out / "metrics.json", metrics)]
    images = evaluation.images

    def predictions(path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["source", "patient_id", "label", "probability", "predicted_at_threshold"])
            for source, patient, label, score in zip(images.sources, images.patient_ids, evaluation.labels, evaluation.scores):
                writer.writerow([source, patient, int(label), repr(float(score)), int(score >= threshold)])

    def subgroups(path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["kind", "group", classes[0], classes[1], "auc", "ci_low", "ci_high"])
            for row in metrics["subgroups"]:
                ci = row.get("ci95") or ["", ""]
                writer.writerow([row["kind"], row["group"], row["benign"], row["malignant"], row["auc"] if row["auc"] is not None else "", *ci])

    written.append(write_atomically(out / "predictions.csv", predictions))
    written.append(write_atomically(out / "subgroups.csv", subgroups))
    written.append(plot_roc_curves([RocCurve.from_evaluation("model", evaluation.split)], out / "roc.png", f"ROC: {metrics['data'][:70]}"))
    prevalence = float(evaluation.labels.mean())
    written.append(plot_precision_recall(metrics["precision_recall"], prevalence, main.get("average_precision"), out / "precision_recall.png", "Precision-recall"))
    written.append(plot_reliability(metrics["calibration"], out / "calibration.png", "Reliability (calibration)"))
    at = evaluation.split.at_youden
    if at is not None and at.confusion is not None:
        written.append(plot_confusion_matrix(at.confusion.to_matrix(), out / "confusion_matrix.png",
                                             f"At the model's threshold {threshold:.3f}", labels=classes))
    return written
