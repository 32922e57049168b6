"""Scoring image files with a trained model, and the CSV ``predict`` writes.

Files are decoded a chunk at a time (``chunks.py``: memory stays bounded on a large folder)
and scored in batches of the trial's own batch size, with the same ``predict_on_batch``
call the trial used for its stored predictions. A file that cannot be decoded is listed
with its reason; the others go on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.apply._chunks import prepared_chunks
from mammosearch.apply.bundle import ModelBundle
from mammosearch.apply.inputs import InputItem
from mammosearch.apply.training_range import InputFacts, RangeCheck, TrainingRange, check_range, outside_by_name
from mammosearch.data import shown
from mammosearch.files import write_atomically

CHUNK = 256  # files decoded before they are scored: bounds memory, keeps batches full


@dataclass(frozen=True)
class Scored:
    item: InputItem
    score: float | None  # None when the file could not be read
    error: str | None = None
    flipped: bool = False
    facts: InputFacts | None = None  # the file's size, bit depth, photometry: compared with the training data


def score_inputs(bundle: ModelBundle, items: list[InputItem], progress: Callable[[int], None] | None = None) -> list[Scored]:
    from mammosearch.trial.fit import predict_scores

    results: list[Scored | None] = [None] * len(items)  # in input order, whatever failed
    for chunk in prepared_chunks(bundle, items, CHUNK):
        for index, item, reason in chunk.failed:
            results[index] = Scored(item, None, reason)
        if chunk.ready:
            scores = predict_scores(bundle.model, np.stack([prepared.pixels for _, _, prepared in chunk.ready]), bundle.batch_size)
            for (index, item, prepared), score in zip(chunk.ready, scores):
                facts = None if prepared.decoded is None else InputFacts.of_decoded(shown(item.path), prepared.decoded)
                results[index] = Scored(item, float(score), None, prepared.flipped, facts)
        if progress is not None:
            progress(chunk.size)
    return [result for result in results if result is not None]  # every position is filled above


def stored_record(stored: dict[str, Any], split: str, tta: str = "none") -> dict[str, Any]:
    """The stored predictions of ``split``: plain, or with flip TTA (``<split>_flip``, written when the study recorded it)."""
    return stored.get(split if tta == "none" else f"{split}_{tta}") or {}


def stored_scores(stored: dict[str, Any], tta: str = "none") -> dict[str, float]:
    """Source id -> the score the trial stored for it (validation, out-of-fold and test predictions) with this TTA."""
    found: dict[str, float] = {}
    for split in ("val", "out_of_fold", "test"):
        record = stored_record(stored, split, tta)
        found.update(zip(record.get("sources", []), record.get("scores", [])))
    return found


def scored_by_other_folds(stored: dict[str, Any]) -> set[str]:
    """Source ids whose stored score another fold's model computed (cross-validation).

    Under CV the trial keeps and exports the first fold's model; ``val`` holds that fold's
    validation images and ``test`` is scored by it too, but ``out_of_fold`` pools every
    fold's validation scores, each from its own fold's model. Only the first two can be
    compared with what this model computes now.
    """
    same_model = {s for split in ("val", "test") for s in (stored.get(split) or {}).get("sources", [])}
    return set((stored.get("out_of_fold") or {}).get("sources", [])) - same_model


def range_check(bundle: ModelBundle, scored: list[Scored]) -> RangeCheck:
    """The scored files against the training data's fingerprint (``training_range.py``)."""
    return check_range(TrainingRange.from_card(bundle.card, bundle.photometry), [s.facts for s in scored if s.facts is not None])


def write_predictions(path: Path, scored: list[Scored], bundle: ModelBundle, thresholds: dict[str, float],
                      checked: RangeCheck | None = None) -> Path:
    """One row per input: path, source id, probability, class at each threshold, why it is outside the training data, stored score and which model stored it, error."""
    stored = stored_scores(bundle.stored_predictions, bundle.tta)
    task = bundle.task
    columns = ["path", "source", f"probability_{task.positive}".replace(" ", "_")]
    for name in thresholds:
        columns += [f"{name}_label", f"{name}_class"]
    columns += ["flipped", "outside_training", "stored_score", "stored_by", "error"]
    outside = outside_by_name(checked) if checked is not None else {}
    other_folds = scored_by_other_folds(bundle.stored_predictions)

    def write(target: Path) -> None:
        # Names that are not UTF-8 are written escaped (shown), so every finished score is
        # written whatever a file is called; backslashreplace covers any other such text.
        with target.open("w", newline="", encoding="utf-8", errors="backslashreplace") as handle:
            out = csv.writer(handle)
            out.writerow(columns)
            for row in scored:
                cells: list[Any] = [shown(row.item.path), shown(row.item.key), "" if row.score is None else repr(row.score)]
                for threshold in thresholds.values():
                    if row.score is None:
                        cells += ["", ""]
                    else:
                        label = int(row.score >= threshold)
                        cells += [label, task.positive if label else task.negative]
                known = stored.get(row.item.key)
                by = "" if known is None else "another fold's model" if row.item.key in other_folds else "this model"
                cells += [int(row.flipped), outside.get(shown(row.item.path), ""), "" if known is None else repr(float(known)), by, shown(row.error or "")]
                out.writerow(cells)

    return write_atomically(path, write)
