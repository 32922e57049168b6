"""Where the patient ids come from, patients with both classes, and a suggested `patient_regex`."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np

# Id-like prefixes before a separator, most specific first: "P_00001_LEFT_CC", "patient12-l.png",
# "10006_L_CC.jpg", then any first token.
CANDIDATES = (
    r"^([A-Za-z]+_\d+)(?=[_\-. ])",
    r"^([A-Za-z]+-?\d+)(?=[_\-. ])",
    r"^(\d+)(?=[_\-. ])",
    r"^([^_\-. ]+)(?=[_\-. ])",
)
MIN_MATCHED = 0.9  # share of file names a candidate must match


@dataclass(frozen=True)
class PatientCheck:
    source: str  # regex, column, dicom, file (each file its own patient) or source (the data set defines them)
    patients: int
    both_classes: int  # patients with images in both classes
    suggested_regex: str | None = None
    suggestion: str | None = None  # what the suggestion is based on


def file_name(source: str) -> str:
    return PurePath(source.split("#", 1)[0]).name


def suggest_regex(names: list[str]) -> tuple[str, str] | None:
    """A regex whose first group many file names share, and a sentence on what it found."""
    for pattern in CANDIDATES:
        compiled = re.compile(pattern)
        ids = [m.group(1) for m in (compiled.match(name) for name in names) if m]
        if len(ids) < MIN_MATCHED * len(names):
            continue
        per_id = Counter(ids)
        shared = [n for n in per_id.values() if n > 1]
        if shared and len(per_id) < len(ids):
            spread = f"{min(shared)}" if min(shared) == max(shared) else f"{min(shared)}-{max(shared)}"
            return pattern, (
                f"{len(ids)} of {len(names)} file names start with one of {len(per_id)} id-like prefixes; "
                f"{len(shared)} of them name {spread} files each"
            )
    return None


def check_patients(patient_ids: np.ndarray, labels: np.ndarray, sources: np.ndarray, source: str) -> PatientCheck:
    ids = patient_ids.astype(str)
    classes_of: dict[str, set[int]] = {}
    for patient, label in zip(ids, labels):
        classes_of.setdefault(patient, set()).add(int(label))
    both = sum(1 for c in classes_of.values() if len(c) > 1)
    suggested = suggest_regex([file_name(str(s)) for s in sources]) if source == "file" else None
    return PatientCheck(source, len(classes_of), both, *(suggested or (None, None)))


def warnings_for(check: PatientCheck, n_images: int) -> list[str]:
    notes: list[str] = []
    if check.source == "file":
        notes.append(
            f"no patient ids: each of the {n_images} images counts as its own patient, so one woman's views can land in "
            f"different splits (give data.patient_regex, a patient_id column, or DICOM files with PatientID)"
        )
        if check.suggested_regex is not None:
            notes.append(f"file names look like they carry the patient: {check.suggestion}; try data.patient_regex: '{check.suggested_regex}'")
    if check.both_classes:
        notes.append(f"{check.both_classes} patient(s) have images in both classes")
    return notes
