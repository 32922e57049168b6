"""A CSV manifest: ``path,label[,patient_id][,split]``, the most portable way to name a data set.

Paths are relative to the CSV's folder. Labels are 0/1 or benign/malignant (any case),
plus any spellings mapped by ``data.labels`` (e.g. ``{B: 0, M: 1}``).
A ``split`` column (train / val / validation / test) replaces the automatic patient split;
a manifest whose given splits share a patient is refused (that is leakage, not a choice).
"""

from __future__ import annotations

import csv

import numpy as np

from mammosearch.data.images import read_image, to_square
from mammosearch.data.specs import CsvSpec
from mammosearch.errors import DataError

LABELS = {"0": 0, "1": 1, "benign": 0, "malignant": 1}
SPLITS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
REQUIRED = ("path", "label")


def load_manifest(spec: CsvSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], np.ndarray | None]:
    """Returns images, labels, patient ids, notes, and the given splits (or None)."""
    path = spec.path
    if not path.is_file():
        raise DataError(f"manifest not found: {path} (set data.path to a CSV with columns path,label[,patient_id][,split])")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(columns) or 'none'}; required: path,label)")
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    if not rows:
        raise DataError(f"{path}: no rows")
    has_split = "split" in columns
    accepted = {**LABELS, **{k.lower(): v for k, v in spec.labels}}
    files, labels, patients, splits = [], [], [], []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        label = accepted.get(row["label"].lower())
        if label is None:
            known = ", ".join(sorted(accepted))
            raise DataError(f"{path}:{number}: unknown label {row['label']!r} (accepted: {known}; map more with data.labels)")
        file = (path.parent / row["path"]).resolve()
        if not file.is_file():
            raise DataError(f"{path}:{number}: image {row['path']!r} not found at {file}")
        if has_split:
            split = SPLITS.get(row["split"].lower())
            if split is None:
                raise DataError(f"{path}:{number}: unknown split {row['split']!r} (use train, val or test)")
            splits.append(split)
        files.append(file)
        labels.append(label)
        patients.append(row.get("patient_id") or row["path"])
    images = np.stack([to_square(read_image(f, spec.color), spec.image_size) for f in files])
    notes = () if "patient_id" in columns else ("no patient_id column: each image is its own patient, so the split cannot group a patient's images",)
    return images, np.asarray(labels, dtype=np.int8), np.asarray(patients, dtype=str), notes, (np.asarray(splits) if has_split else None)
