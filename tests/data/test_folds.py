from __future__ import annotations

import numpy as np
import pytest

from mammosearch.data import cross_validation_folds
from mammosearch.data.folds import holdout_fold
from mammosearch.errors import DataError


def _data(n_patients: int = 30, per_patient: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    patient_labels = rng.integers(0, 2, n_patients)
    patient_labels[:2] = [0, 1]
    patients = np.repeat([f"p{i}" for i in range(n_patients)], per_patient)
    labels = np.repeat(patient_labels, per_patient)
    splits = np.where(np.repeat(np.arange(n_patients) % 5 == 0, per_patient), "test", "train")
    return labels, patients, splits


def test_folds_are_patient_grouped_stratified_and_cover_the_pool_once():
    labels, patients, splits = _data()
    folds = cross_validation_folds(labels, patients, splits, k=4, seed=0)
    assert len(folds) == 4
    seen = np.zeros(len(labels), dtype=int)
    for fold in folds:
        assert not (fold.train & fold.val).any()
        assert not ((fold.train | fold.val) & (splits == "test")).any()
        assert not set(patients[fold.train]) & set(patients[fold.val])
        assert set(labels[fold.val]) == {0, 1}
        seen += fold.val
    assert (seen[splits != "test"] == 1).all() and (seen[splits == "test"] == 0).all()


def test_folds_are_deterministic_for_a_seed():
    labels, patients, splits = _data()
    a = cross_validation_folds(labels, patients, splits, k=3, seed=5)
    b = cross_validation_folds(labels, patients, splits, k=3, seed=5)
    assert all((x.val == y.val).all() for x, y in zip(a, b))


def test_too_few_patients_for_k_folds_is_a_data_error():
    labels, patients, splits = _data(n_patients=6)
    with pytest.raises(DataError, match="lower evaluation.cv_folds"):
        cross_validation_folds(labels, patients, splits, k=10, seed=0)


def test_holdout_uses_the_assigned_splits():
    splits = np.array(["train", "val", "test", "train"])
    fold = holdout_fold(splits)
    assert fold.train.tolist() == [True, False, False, True] and fold.val.tolist() == [False, True, False, False]
