"""Patient-grouped, label-stratified k-fold cross-validation over the non-test images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from mammosearch.data.split import check_no_patient_leakage
from mammosearch.errors import DataError


@dataclass(frozen=True)
class Fold:
    """Boolean masks over the whole image set; test images are in neither."""

    index: int
    train: np.ndarray
    val: np.ndarray


def holdout_fold(splits: np.ndarray) -> Fold:
    """The single train/validation split the loaders assigned (no cross-validation)."""
    return Fold(0, splits == "train", splits == "val")


def cross_validation_folds(labels: np.ndarray, patient_ids: np.ndarray, splits: np.ndarray, k: int, seed: int) -> list[Fold]:
    """k folds over the train+val images, grouped by patient and stratified by label.

    Every patient's images fall in exactly one fold's validation part, so the folds'
    validation predictions together cover the pool once (out-of-fold predictions).
    """
    if k < 2:
        raise ValueError(f"`k >= 2` must hold, but got ({k=}).")
    pool = np.flatnonzero(splits != "test")
    pool_labels, pool_patients = labels[pool], patient_ids[pool]
    for label, name in ((0, "benign"), (1, "malignant")):
        patients = len(set(pool_patients[pool_labels == label]))
        if patients < k:
            raise DataError(
                f"{k}-fold cross-validation needs at least {k} {name} patients outside the test split, "
                f"found {patients}; lower evaluation.cv_folds"
            )
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    for i, (train_idx, val_idx) in enumerate(splitter.split(pool, pool_labels, pool_patients)):
        train = np.zeros(len(labels), dtype=bool)
        val = np.zeros(len(labels), dtype=bool)
        train[pool[train_idx]] = True
        val[pool[val_idx]] = True
        if len(set(labels[val])) < 2:
            raise DataError(f"fold {i + 1} of {k} has a single class in validation; lower evaluation.cv_folds")
        fold_splits = np.where(train, "train", np.where(val, "val", "test"))
        check_no_patient_leakage(patient_ids, fold_splits)
        folds.append(Fold(i, train, val))
    return folds
