"""What a trial scores beyond its plain predictions: flip TTA, and the test images by every fold's model.

Stored in the kept trial's ``predictions.json`` next to the plain records, under names that
say what they are, so ``report`` can put the predictors side by side without running a
model, and ``predict``/``export-best`` can check and threshold what they compute:

* ``val_flip``, ``out_of_fold_flip``, ``test_flip`` (``evaluation.tta: flip``): the mean of
  each image's and its mirror image's probability, by the same model as the plain record;
* ``test_fold_ensemble`` (and ``test_fold_ensemble_flip``) (``study.keep_fold_models``
  under CV, with a test split): the mean of the k fold models' probabilities, what
  ``export-best --folds`` computes. On out-of-fold images there is no such score: every
  image trained k-1 of the k fold models.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.data import Fold, ImageSet
from mammosearch.models import FLIP
from mammosearch.trial._fold_fit import FoldFit

__all__ = ["FLIP", "ExtraScores", "prediction_record"]


def prediction_record(data: ImageSet, mask: np.ndarray, scores: np.ndarray) -> dict[str, list[Any]]:
    return {
        "indices": [int(i) for i in np.flatnonzero(mask)],
        "sources": [str(v) for v in data.sources[mask]],
        "labels": [int(v) for v in data.labels[mask]],
        "scores": [float(v) for v in scores],
        "patient_ids": [str(v) for v in data.patient_ids[mask]],
    }


class ExtraScores:
    """Collects, fold by fold, the mirrored scores (``tta``) and the test scores of every fold's model (``keep_folds``)."""

    def __init__(self, data: ImageSet, tta: bool, keep_folds: bool) -> None:
        self.data, self.tta, self.keep_folds = data, tta, keep_folds
        self.test = (data.splits == "test") if data.has_split("test") else None
        self.mirrored = np.full(len(data.labels), np.nan)  # each validation image's mirrored score, by its fold's model
        self.test_scores: list[np.ndarray] = []  # per fold model: the first fold's, then the others' when they are kept
        self.test_mirrored: list[np.ndarray] = []
        self.fold_models: tuple[Callable[[Path], None], ...] = ()

    def add_fold(self, fold: Fold, fitted: FoldFit) -> None:
        """After fold ``fold`` trained: score what it must (at its restored best weights)."""
        if self.tta:
            self.mirrored[fold.val] = fitted.score_mirrored(fold.val)
        if fold.index > 0 and self.keep_folds:
            self.fold_models += (fitted.save_model,)
        if self.test is not None and (fold.index == 0 or self.keep_folds):
            self.test_scores.append(fitted.score(self.test))
            if self.tta:
                self.test_mirrored.append(fitted.score_mirrored(self.test))

    def records(self, plain: np.ndarray, first_val: np.ndarray, pooled: np.ndarray | None) -> dict[str, Any]:
        """The extra ``predictions.json`` records; ``plain``: the out-of-fold (or validation) scores, ``pooled``: the CV pool's mask."""
        out: dict[str, Any] = {}
        both = (plain + self.mirrored) / 2.0
        if self.tta:
            out["val_flip"] = prediction_record(self.data, first_val, both[first_val])
            if pooled is not None:
                out["out_of_fold_flip"] = prediction_record(self.data, pooled, both[pooled])
        if self.test is None or not self.test_scores:
            return out
        if self.tta:
            out["test_flip"] = prediction_record(self.data, self.test, (self.test_scores[0] + self.test_mirrored[0]) / 2.0)
        if self.keep_folds and len(self.test_scores) > 1:
            out["test_fold_ensemble"] = prediction_record(self.data, self.test, np.mean(self.test_scores, axis=0))
            if self.tta:
                flipped = np.mean([(a + b) / 2.0 for a, b in zip(self.test_scores, self.test_mirrored)], axis=0)
                out["test_fold_ensemble_flip"] = prediction_record(self.data, self.test, flipped)
        return out
