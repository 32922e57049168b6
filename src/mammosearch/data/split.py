"""Patient-grouped, label-stratified train/val/test assignment.

Splitting by image instead of by patient puts two views of one woman (or augmented
copies of one scan) on both sides and inflates AUC; that is the most common reason for
published mammography AUCs above 0.9. So the unit here is always the patient:

1. patients are put in three strata: only benign images, only malignant, both;
2. each stratum is shuffled with the seed and cut by ``test`` / ``validation``
   fractions (of patients, rounded), the rest trains;
3. a repair pass moves single patients, from whichever split can spare one, into any
   split that lacks a class, so train and val (and test, when asked for) each hold
   both classes whenever the patient counts allow it at all.

A seeded greedy procedure rather than ``StratifiedGroupKFold``: fold counts cannot
express "20 % val, 10 % test", and k-fold gives no guarantee that a small split holds
both classes, which AUC needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mammosearch.errors import DataError

_MAX_LISTED = 10


@dataclass(frozen=True)
class SplitSpec:
    """Fractions of *patients* that go to validation and test (the rest trains)."""

    validation: float = 0.2
    test: float = 0.0
    seed: int = 0


def assign_splits(labels: np.ndarray, patient_ids: np.ndarray, spec: SplitSpec) -> np.ndarray:
    """Return an array of ``"train"`` / ``"val"`` / ``"test"``, one per image.

    Deterministic for ``spec.seed``; a patient's images always share one split; a
    fraction of 0 leaves that split empty. Raises :class:`DataError` when the data has
    only one class or too few patients of a class to give every requested split both.
    """
    labels = np.asarray(labels)
    patient_ids = np.asarray(patient_ids).astype(str)
    _check_inputs(labels, patient_ids, spec)

    patients, image_patient = np.unique(patient_ids, return_inverse=True)
    has = np.zeros((len(patients), 2), dtype=bool)  # has[p, c]: patient p has an image of class c
    has[image_patient, labels.astype(np.int64)] = True
    requested = ["train"]
    requested += [name for name, frac in (("val", spec.validation), ("test", spec.test)) if frac > 0]
    _check_enough_patients(has, requested, spec)

    rng = np.random.default_rng(spec.seed)
    split_of_patient = np.full(len(patients), "train", dtype=object)
    for stratum in ((True, False), (False, True), (True, True)):
        members = np.flatnonzero((has[:, 0] == stratum[0]) & (has[:, 1] == stratum[1]))
        members = members[rng.permutation(len(members))]
        n_test = _round(spec.test * len(members))
        n_val = _round(spec.validation * len(members))
        split_of_patient[members[:n_test]] = "test"
        split_of_patient[members[n_test : n_test + n_val]] = "val"

    order = rng.permutation(len(patients))  # the order in which repair considers donors
    _repair(split_of_patient, has, requested, order)
    return split_of_patient[image_patient].astype(str)


def check_no_patient_leakage(patient_ids: np.ndarray, splits: np.ndarray) -> None:
    """Raise :class:`DataError` naming (up to 10) patient ids found in more than one split."""
    seen: dict[str, set[str]] = {}
    for patient, split in zip(np.asarray(patient_ids).astype(str), np.asarray(splits).astype(str)):
        seen.setdefault(patient, set()).add(split)
    leaked = sorted(p for p, s in seen.items() if len(s) > 1)
    if leaked:
        shown = ", ".join(f"{p} ({'/'.join(sorted(seen[p]))})" for p in leaked[:_MAX_LISTED])
        more = f" and {len(leaked) - _MAX_LISTED} more" if len(leaked) > _MAX_LISTED else ""
        raise DataError(
            f"patient leakage: {len(leaked)} patient id(s) appear in more than one split: "
            f"{shown}{more}; every image of a patient must be in the same split"
        )


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))  # half up, not Python's banker's rounding


def _check_inputs(labels: np.ndarray, patient_ids: np.ndarray, spec: SplitSpec) -> None:
    if labels.ndim != 1 or len(labels) != len(patient_ids):
        raise ValueError(
            f"labels {labels.shape} and patient_ids {patient_ids.shape} must be 1-D of equal length"
        )
    if len(labels) == 0:
        raise DataError("no images to split")
    if not np.isin(labels, (0, 1)).all():
        found = sorted(set(labels.tolist()))
        raise DataError(f"labels must be 0 (benign) or 1 (malignant), got {found}")
    if not (0 <= spec.validation < 1 and 0 <= spec.test < 1 and spec.validation + spec.test < 1):
        raise DataError(
            f"split fractions need 0 <= validation, 0 <= test and validation + test < 1, "
            f"got validation={spec.validation}, test={spec.test}"
        )


def _check_enough_patients(has: np.ndarray, requested: list[str], spec: SplitSpec) -> None:
    """Each requested split needs a patient of each class; a patient with both classes
    covers one split alone, so this count is exactly what feasibility needs."""
    need = len(requested)
    counts = has.sum(axis=0)
    for label, name in ((0, "benign"), (1, "malignant")):
        if counts[label] == 0:
            raise DataError(f"the data has no {name} images; both classes are needed")
    if counts.min() < need:
        asked = ", ".join(requested)
        raise DataError(
            f"too few patients to split: {counts[0]} with benign and {counts[1]} with malignant "
            f"images, but {asked} each need a patient of both classes ({need} of each); add "
            f"data or ask for fewer splits (split.test: 0), got validation={spec.validation}, "
            f"test={spec.test}"
        )


def _covers(split_of_patient: np.ndarray, has: np.ndarray, split: str, label: int) -> int:
    """How many patients in ``split`` have an image of ``label``."""
    return int(np.sum((split_of_patient == split) & has[:, label]))


def _repair(
    split_of_patient: np.ndarray, has: np.ndarray, requested: list[str], order: np.ndarray
) -> None:
    """Move single patients into splits that lack a class.

    A donor split never loses a class it has, so coverage only grows and the pass ends.
    When a split lacks class c, the other splits hold at least ``len(requested)`` patients
    with c (checked before), so one of them holds two and can spare one: with the count
    check passed, the DataError below cannot happen; it guards against a logic error.
    """
    for split in reversed(requested):  # smallest splits first: test, val, then train
        for label in (0, 1):
            if _covers(split_of_patient, has, split, label):
                continue
            donor = _find_donor(split_of_patient, has, split, label, requested, order)
            if donor is None:
                raise DataError(
                    f"cannot give the {split} split a {'benign' if label == 0 else 'malignant'} "
                    f"patient without taking the last one from another split; add data or "
                    f"lower split.validation / split.test"
                )
            split_of_patient[donor] = split


def _find_donor(
    split_of_patient: np.ndarray,
    has: np.ndarray,
    split: str,
    label: int,
    requested: list[str],
    order: np.ndarray,
) -> int | None:
    """The patient to move: prefers one with only the missing class (the receiving split
    grows no more than needed), then the biggest donor split, then the seeded order."""
    sizes = {name: int(np.sum(split_of_patient == name)) for name in requested}
    covers = {name: [_covers(split_of_patient, has, name, c) for c in (0, 1)] for name in requested}
    best: tuple[bool, int, int] | None = None
    best_patient: int | None = None
    for rank, patient in enumerate(order):
        source = split_of_patient[patient]
        if source == split or not has[patient, label]:
            continue
        loses_a_class = any(
            has[patient, c] and covers[source][c] == 1 for c in (0, 1)
        )
        if loses_a_class:
            continue
        key = (bool(has[patient, 1 - label]), -sizes[source], rank)
        if best is None or key < best:
            best, best_patient = key, int(patient)
    return best_patient
