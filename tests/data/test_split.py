"""Patient-grouped, stratified splits and the leakage check."""

from __future__ import annotations

import numpy as np
import pytest

from mammosearch.data import SplitSpec, check_no_patient_leakage
from mammosearch.data.split import assign_splits
from mammosearch.errors import DataError


def _patients(n_benign: int, n_malignant: int, n_mixed: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and patient ids, 1 to 4 images per patient, patients interleaved."""
    rng = np.random.default_rng(seed)
    labels: list[int] = []
    ids: list[str] = []
    kinds = [0] * n_benign + [1] * n_malignant + [2] * n_mixed
    for p, kind in enumerate(rng.permutation(kinds)):
        count = int(rng.integers(2 if kind == 2 else 1, 5))
        patient_labels = [0, 1] + [int(rng.integers(0, 2)) for _ in range(count - 2)] if kind == 2 else [kind] * count
        labels += patient_labels
        ids += [f"p{p:03d}"] * len(patient_labels)
    order = rng.permutation(len(labels))  # images of one patient are not adjacent
    return np.asarray(labels)[order], np.asarray(ids)[order]


def _patients_per_split(labels: np.ndarray, ids: np.ndarray, splits: np.ndarray, split: str, label: int) -> int:
    return len(np.unique(ids[(splits == split) & (labels == label)]))


def _assert_grouped(ids: np.ndarray, splits: np.ndarray) -> None:
    for patient in np.unique(ids):
        assert len(np.unique(splits[ids == patient])) == 1, patient


def test_grouped_and_stratified_on_a_balanced_set() -> None:
    labels, ids = _patients(50, 50)
    splits = assign_splits(labels, ids, SplitSpec(validation=0.2, test=0.1, seed=0))
    _assert_grouped(ids, splits)
    assert set(splits.tolist()) == {"train", "val", "test"}
    assert _patients_per_split(labels, ids, splits, "val", 0) == 10
    assert _patients_per_split(labels, ids, splits, "val", 1) == 10
    assert _patients_per_split(labels, ids, splits, "test", 0) == 5
    assert _patients_per_split(labels, ids, splits, "test", 1) == 5
    assert _patients_per_split(labels, ids, splits, "train", 0) == 35


def test_imbalanced_set_keeps_its_ratio_in_every_split() -> None:
    labels, ids = _patients(90, 10)
    splits = assign_splits(labels, ids, SplitSpec(validation=0.2, test=0.2, seed=5))
    for split in ("val", "test"):
        assert _patients_per_split(labels, ids, splits, split, 0) == 18
        assert _patients_per_split(labels, ids, splits, split, 1) == 2


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    labels, ids = _patients(30, 30, 4)
    a = assign_splits(labels, ids, SplitSpec(seed=1))
    assert np.array_equal(a, assign_splits(labels, ids, SplitSpec(seed=1)))
    assert not np.array_equal(a, assign_splits(labels, ids, SplitSpec(seed=2)))


def test_zero_test_fraction_means_no_test_split() -> None:
    labels, ids = _patients(20, 20)
    splits = assign_splits(labels, ids, SplitSpec(validation=0.25, test=0.0))
    assert set(splits.tolist()) == {"train", "val"}
    assert splits.dtype.kind == "U"


def test_two_patients_per_class_give_train_and_val_both_classes() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    ids = np.array(["a", "a", "b", "c", "d", "d"])
    for seed in range(10):
        for validation in (0.01, 0.2, 0.5):  # 0.01 rounds to no patient: repaired to one each
            splits = assign_splits(labels, ids, SplitSpec(validation=validation, seed=seed))
            _assert_grouped(ids, splits)
            for split in ("train", "val"):
                assert set(labels[splits == split].tolist()) == {0, 1}, (seed, validation, splits)


def test_every_requested_split_gets_both_classes_whenever_possible() -> None:
    """Many small random cohorts, including patients with both a benign and a malignant image."""
    rng = np.random.default_rng(0)
    for trial in range(150):
        test = float(rng.choice([0.0, 0.1, 0.3]))
        need = 3 if test else 2
        n_mixed = int(rng.integers(0, 3))
        n_benign = max(0, need - n_mixed) + int(rng.integers(0, 4))
        n_malignant = max(0, need - n_mixed) + int(rng.integers(0, 4))
        labels, ids = _patients(n_benign, n_malignant, n_mixed, seed=trial)
        spec = SplitSpec(validation=float(rng.choice([0.05, 0.2, 0.4])), test=test, seed=trial)
        splits = assign_splits(labels, ids, spec)
        _assert_grouped(ids, splits)
        for split in ("train", "val", "test") if test else ("train", "val"):
            assert set(labels[splits == split].tolist()) == {0, 1}, (trial, split)


def test_too_few_patients_for_validation() -> None:
    labels = np.array([0, 0, 1, 1])
    ids = np.array(["a", "b", "c", "c"])  # one malignant patient
    with pytest.raises(DataError, match=r"too few patients.*2 with benign and 1 with malignant"):
        assign_splits(labels, ids, SplitSpec(validation=0.2))


def test_too_few_patients_for_a_test_split_says_so() -> None:
    labels, ids = _patients(2, 2)
    assign_splits(labels, ids, SplitSpec(validation=0.2, test=0.0))  # fine without test
    with pytest.raises(DataError, match=r"train, val, test .*3 of each.*split\.test"):
        assign_splits(labels, ids, SplitSpec(validation=0.2, test=0.2))


def test_single_class_data_is_rejected() -> None:
    with pytest.raises(DataError, match="no malignant images"):
        assign_splits(np.zeros(10, dtype=np.int8), np.arange(10).astype(str), SplitSpec())


def test_bad_fractions_are_rejected() -> None:
    labels, ids = _patients(10, 10)
    with pytest.raises(DataError, match=r"validation=0\.6, test=0\.5"):
        assign_splits(labels, ids, SplitSpec(validation=0.6, test=0.5))


def test_leakage_check_passes_clean_splits() -> None:
    check_no_patient_leakage(np.array(["a", "a", "b"]), np.array(["train", "train", "val"]))


def test_leakage_check_names_the_leaked_patients() -> None:
    ids = np.array(["a", "a", "b", "c", "c"])
    splits = np.array(["train", "val", "train", "test", "test"])
    with pytest.raises(DataError, match=r"1 patient id\(s\).*: a \(train/val\);") as info:
        check_no_patient_leakage(ids, splits)
    assert "c" not in str(info.value).split(":")[1]


def test_leakage_check_lists_at_most_ten() -> None:
    ids = np.repeat([f"p{i:02d}" for i in range(15)], 2)
    splits = np.tile(["train", "val"], 15)
    with pytest.raises(DataError) as info:
        check_no_patient_leakage(ids, splits)
    message = str(info.value)
    assert "15 patient id(s)" in message and "p09" in message and "p10" not in message
    assert "and 5 more" in message
