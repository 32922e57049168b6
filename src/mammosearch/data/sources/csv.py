"""A CSV manifest: ``path,label[,patient_id][,split]``, the most portable way to name a data set.

Paths are relative to the CSV's folder. Labels are 0/1 or benign/malignant (any case),
plus any spellings mapped by ``data.labels`` (e.g. ``{B: 0, M: 1}``).
A ``split`` column (train / val / validation / test) replaces the automatic patient split;
a manifest whose given splits share a patient is refused (that is leakage, not a choice).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mammosearch.data import _spec_fields as sf
from mammosearch.data._provenance import provenance_of
from mammosearch.data._spec_fields import key, read_spec, spec_keys
from mammosearch.data.base import Loaded, Source
from mammosearch.data.decode import DEFAULT_MARGIN, Framing, decode_stacked, framing_for
from mammosearch.data.dicom import patients_from_files
from mammosearch.data.file_names import link_problem, resolved
from mammosearch.data.pixels import ColorMode
from mammosearch.data.task import Task
from mammosearch.errors import DataError
from mammosearch.spec import Fields, show

LABELS = {"0": 0, "1": 1, "benign": 0, "malignant": 1}
SPLITS = {"train": "train", "val": "val", "validation": "val", "test": "test"}
REQUIRED = ("path", "label")


@dataclass(frozen=True)
class CsvSpec:
    """A manifest CSV with ``path,label`` and optional ``patient_id``, ``split`` columns."""

    path: Path = key(read=sf.path())
    image_size: int | str = key(64, sf.size(16, 2048))  # a square side or "HxW" (spec.size)
    color: ColorMode = key("grayscale", sf.choice("grayscale", "rgb"))
    # Extra label spellings -> 0/1 (lower-case keys), on top of 0/1 and benign/malignant;
    # a tuple of pairs rather than a dict so the spec stays hashable.
    labels: tuple[tuple[str, int], ...] = key((), lambda fields, node, where: _labels(fields, node))
    # What label 0 and label 1 mean (e.g. [no cancer, cancer] for a screening manifest).
    classes: tuple[str, str] = key(("benign", "malignant"), lambda fields, node, where: _classes(fields, node))
    # Off unless asked (the files may be lesion crops): crop to the breast, chest wall to the left (data/decode/_framing.py).
    crop: bool | None = key(None, sf.optional_boolean())
    orient: bool | None = key(None, sf.optional_boolean())
    crop_margin: float = key(DEFAULT_MARGIN, sf.number(0.0, 0.5))
    source: Literal["csv"] = "csv"


def read(fields: Fields, raw: dict[str, Any]) -> CsvSpec:
    return read_spec(CsvSpec, fields, raw, lambda _: "source 'csv' needs `path`, a CSV with columns path,label[,patient_id][,split]")


def _labels(fields: Fields, labels: Any) -> tuple[tuple[str, int], ...]:
    labels = labels or {}
    if not isinstance(labels, dict):
        raise fields.fail("data.labels", f"expected a mapping of label values to 0 or 1, e.g. {{B: 0, M: 1}}, got {show(labels)}")
    for value, label in labels.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise fields.fail("data.labels", f"label values must be non-empty strings or integers, got {show(value)}")
        fields.integer(label, f"data.labels.{value}", 0, 1)
    return tuple(sorted((str(value).strip().lower(), int(label)) for value, label in labels.items()))


def _classes(fields: Fields, raw: Any) -> tuple[str, str]:
    if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(c, str) and c.strip() for c in raw)) or raw[0] == raw[1]:
        raise fields.fail("data.classes", f"expected the names of label 0 and label 1, e.g. [no cancer, cancer], got {show(raw)}")
    return (raw[0].strip(), raw[1].strip())


def framing(spec: CsvSpec) -> Framing:
    return framing_for(spec.crop, spec.orient, spec.crop_margin, whole_images=False)


def task(spec: CsvSpec) -> Task:
    negative, positive = spec.classes
    return Task(f"{negative}_vs_{positive}".replace(" ", "_"), negative, positive, "image")


def files(spec: CsvSpec) -> list[Path]:
    # The manifest's own stat covers edits to it; the images it names are listed by it.
    found = [spec.path]
    if spec.path.is_file():
        with spec.path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                candidate = resolved(spec.path.parent / (row.get("path") or "").strip())
                if candidate.is_file():
                    found.append(candidate)
    return found


def describe(spec: CsvSpec, data: Loaded) -> str:
    n_malignant = int(data.labels.sum())
    given = ", splits from the manifest" if data.splits is not None else ""
    return (
        f"manifest {spec.path}: {len(data.images)} images ({len(data.images) - n_malignant} benign, "
        f"{n_malignant} malignant), {len(np.unique(data.patient_ids))} patients, {data.images.shape[1]} px{given}"
    )


def load_manifest(spec: CsvSpec) -> Loaded:
    """Images, labels, patient ids, notes, and the splits the manifest gives (or None); a ``site`` column is kept."""
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
        file = resolved(path.parent / row["path"])
        if not file.is_file():
            problem = link_problem(path.parent / row["path"])
            raise DataError(f"{path}:{number}: " + (problem or f"image {row['path']!r} not found at {file}"))
        if has_split:
            split = SPLITS.get(row["split"].lower())
            if split is None:
                raise DataError(f"{path}:{number}: unknown split {row['split']!r} (use train, val or test)")
            splits.append(split)
        files.append(file)
        labels.append(label)
        patients.append(row.get("patient_id") or row["path"])
    images, decoded = decode_stacked(files, spec.color, spec.image_size, framing=framing(spec))
    notes: list[str] = []
    patient_source = "column"
    if "patient_id" not in columns:  # DICOM files may name their patient (PatientID)
        patients, patient_source, patient_notes = patients_from_files(decoded, patients)
        if patient_source == "file":
            notes.append("no patient_id column: each image is its own patient, so the split cannot group a patient's images")
        notes.extend(patient_notes)
    sites = [row.get("site", "") for row in rows] if "site" in columns else _folders(files)
    provenance = provenance_of([str(f) for f in files], decoded, sites)
    return Loaded(
        images, np.asarray(labels, dtype=np.int8), np.asarray(patients, dtype=str), provenance, tuple(notes),
        (np.asarray(splits) if has_split else None), patient_source,
    )


def _folders(files: list[Path]) -> list[str] | None:
    """Without a site column, the folder each file is in, when the files span several: often one per site or export."""
    folders = [f.parent.name for f in files]
    return folders if len(set(folders)) > 1 else None


SOURCE = Source(
    name="csv", keys=spec_keys(CsvSpec),
    read=read, load=load_manifest, describe=describe, files=files, task=task, framing=framing,
)
