"""What every kind of export shares: which predictor it is, flip TTA built in, and a threshold chosen on that predictor's scores.

The card says which predictor was exported (``exported``: single model, top-K ensemble or
fold ensemble; ``tta``: none or flip) and, when the exported model does not compute what
the trial's plain scores came from (TTA, an ensemble), its threshold and operating points
are re-chosen on that predictor's own stored selection scores (pooled out-of-fold under
CV, else validation), never on test.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.apply.card import predictive_values
from mammosearch.data import Task
from mammosearch.metrics import at_threshold, operating_points, youden_threshold
from mammosearch.models import FLIP, NONE
from mammosearch.spec import SplitMetrics
from mammosearch.store import StudyRecord

SINGLE, TOP_K, FOLDS = "single model", "top-K ensemble", "fold ensemble"


def with_tta(model: Any, tta: str) -> Any:
    """``model`` with flip TTA built in (``flip``), or as it is (``none``)."""
    from mammosearch.models import with_flip_tta

    return with_flip_tta(model) if tta == FLIP else model


def describe(kind: str, tta: str, members: int = 1) -> str:
    """The card's ``exported``: e.g. ``fold ensemble (5 models) with flip TTA``."""
    what = kind if members < 2 else f"{kind} ({members} models)"
    return what + (" with flip TTA (the mean with the mirror image, built into the model)" if tta == FLIP else "")


def selection_record(predictions: dict[str, Any], tta: str) -> dict[str, Any] | None:
    """The stored record a threshold is chosen on for this TTA: out-of-fold (CV), else validation; None when not stored."""
    suffix = "" if tta == NONE else f"_{tta}"
    return predictions.get(f"out_of_fold{suffix}") or predictions.get(f"val{suffix}") or None


def mark(card: dict[str, Any], kind: str, tta: str, members: int = 1) -> None:
    card["exported"] = describe(kind, tta, members)
    card["tta"] = tta


def rethreshold(card: dict[str, Any], record: StudyRecord, selection: tuple[np.ndarray, np.ndarray], chosen_on: str) -> None:
    """The card's threshold, operating points and predictive values from this predictor's own selection scores."""
    labels, scores = selection
    card["operating_points"] = points = operating_points(labels, scores)
    card["threshold"]["recommended"] = threshold = youden_threshold(labels, scores)
    card["threshold"]["chosen_on"] = chosen_on
    own = SplitMetrics(youden_threshold=threshold, at_youden=at_threshold(labels, scores, threshold))
    card["predictive_values"] = predictive_values(Task.from_json(record.context.task), selection, own, points)


def tta_selection(predictions: dict[str, Any], tta: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Labels and scores of :func:`selection_record` (None without TTA or when the study did not store it)."""
    if tta == NONE:
        return None
    found = selection_record(predictions, tta)
    if not found or not found.get("scores"):
        return None
    return np.asarray(found["labels"]), np.asarray(found["scores"], dtype=float)


def no_tta_scores_note(tta: str) -> str:
    return (f"the study stored no {tta} TTA scores (evaluation.tta: none), so the threshold stays the one chosen without TTA"
            if tta != NONE else "")
