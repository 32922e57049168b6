"""CBIS-DDSM: the curated DDSM description CSVs, with DICOM images or the JPEG re-export.

* Labels: ``pathology`` BENIGN and BENIGN_WITHOUT_CALLBACK are benign, MALIGNANT is malignant.
* ``image: crop`` uses the lesion crops (one per abnormality); ``image: full`` the whole
  mammograms (one per image; malignant if any of its abnormalities is).
* The official train/test split is kept unless told otherwise. A patient can have a mass
  in one official set and a calcification in the other: with ``abnormality: both`` all of
  such a patient's images go to test (a note says how many), so no patient leaks.
* Layout (a): DICOM files under the root at the CSVs' paths. Layout (b), the widely used
  JPEG re-export: ``csv/`` (the description CSVs and ``dicom_info.csv``) and
  ``jpeg/<SeriesInstanceUID>/*.jpg``; the third component of a CSV path is that series UID.
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
from mammosearch.data.decode import DEFAULT_MARGIN, Framing, decode_all, framing_for, refuse_on_crops
from mammosearch.data.file_names import link_problem, undecodable
from mammosearch.data.split import SplitSpec, assign_splits
from mammosearch.data.task import Task
from mammosearch.errors import DataError
from mammosearch.spec import Fields

PATHOLOGY = {"BENIGN": 0, "BENIGN_WITHOUT_CALLBACK": 0, "MALIGNANT": 1}
REQUIRED = ("patient_id", "pathology", "image file path", "cropped image file path")
SERIES = {"crop": "cropped images", "full": "full mammogram images"}


@dataclass(frozen=True)
class CbisDdsmSpec:
    """CBIS-DDSM description CSVs with DICOM files or the JPEG re-export."""

    root: Path = key(read=sf.path())
    image_size: int | str = key(64, sf.size(16, 2048))  # a square side or "HxW" (spec.size)
    abnormality: Literal["mass", "calc", "both"] = key("mass", sf.choice("mass", "calc", "both"))
    image: Literal["crop", "full"] = key("crop", sf.choice("crop", "full"))
    keep_official_split: bool = key(True, sf.boolean())  # official test set -> test; train -> train/val by patient
    validation: float = key(0.2, sf.number(0.01, 0.9))  # fraction of training patients for validation
    test: float = key(0.2, sf.number(0.0, 0.9))  # only when keep_official_split is false
    seed: int = key(0, sf.integer(0))
    # Whole images only (null: on for image: full): crop to the breast, chest wall to the left (data/decode/_framing.py).
    crop: bool | None = key(None, sf.optional_boolean())
    orient: bool | None = key(None, sf.optional_boolean())
    crop_margin: float = key(DEFAULT_MARGIN, sf.number(0.0, 0.5))
    source: Literal["cbis_ddsm"] = "cbis_ddsm"


def read(fields: Fields, raw: dict[str, Any]) -> CbisDdsmSpec:
    spec = read_spec(CbisDdsmSpec, fields, raw, lambda _: "source 'cbis_ddsm' needs `root`, the folder with the description CSVs (or csv/ and jpeg/)")
    refuse_on_crops(fields, spec.crop, spec.orient, spec.image == "full", "lesion crops (image: crop)")
    return spec


def framing(spec: CbisDdsmSpec) -> Framing:
    return framing_for(spec.crop, spec.orient, spec.crop_margin, spec.image == "full")


def files(spec: CbisDdsmSpec) -> list[Path]:
    # Description CSVs (and dicom_info.csv) plus every image file under the root.
    root = Path(spec.root)
    if not root.is_dir():
        return []
    # A name that is not UTF-8 cannot be one the (UTF-8) CSVs name, so it is no part of the data set.
    return [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".dcm", ".jpg", ".jpeg", ".png") and not undecodable(p)]


def describe(spec: CbisDdsmSpec, data: Loaded) -> str:
    n_malignant = int(data.labels.sum())
    return (
        f"CBIS-DDSM {spec.root}: {spec.abnormality} {spec.image}s, {len(data.images)} images "
        f"({len(data.images) - n_malignant} benign, {n_malignant} malignant), "
        f"{len(np.unique(data.patient_ids))} patients, {data.images.shape[1]} px, "
        f"{'official test split' if spec.keep_official_split else 're-split by patient'}"
    )


@dataclass(frozen=True)
class Case:
    csv: Path
    line: int
    patient_id: str
    label: int
    image_path: str  # as written in the CSV
    official_split: str  # "train" or "test"


def description_files(csv_dir: Path, spec: CbisDdsmSpec) -> list[tuple[Path, str]]:
    kinds = ("mass", "calc") if spec.abnormality == "both" else (spec.abnormality,)
    files = []
    for kind in kinds:
        for part, split in (("train", "train"), ("test", "test")):
            path = csv_dir / f"{kind}_case_description_{part}_set.csv"
            if not path.is_file():
                raise DataError(f"CBIS-DDSM description file not found: {path} (expected in {csv_dir}; set data.root to the CBIS-DDSM folder)")
            files.append((path, split))
    return files


def read_cases(path: Path, split: str, image: str) -> list[Case]:
    column = "cropped image file path" if image == "crop" else "image file path"
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(repr(c) for c in missing)} (found: {', '.join(columns)})")
        cases = []
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            pathology = row["pathology"].upper()
            if pathology not in PATHOLOGY:
                raise DataError(f"{path}:{line}: unknown pathology {row['pathology']!r} (expected BENIGN, BENIGN_WITHOUT_CALLBACK or MALIGNANT)")
            cases.append(Case(path, line, row["patient_id"], PATHOLOGY[pathology], row[column].strip().strip('"'), split))
    return cases


class JpegIndex:
    """``dicom_info.csv`` of the JPEG re-export: (series UID, series description) -> JPEG file."""

    def __init__(self, root: Path, info: Path) -> None:
        self.files: dict[tuple[str, str], Path] = {}
        with info.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            path_column = next((c for c in ("image_path", "file_path") if c in (reader.fieldnames or [])), None)
            if path_column is None or "SeriesInstanceUID" not in (reader.fieldnames or []) or "SeriesDescription" not in (reader.fieldnames or []):
                raise DataError(f"{info}: needs columns image_path (or file_path), SeriesInstanceUID and SeriesDescription")
            for row in reader:
                relative = row[path_column].strip()
                relative = relative.split("jpeg/", 1)[1] if "jpeg/" in relative else relative
                self.files[(row["SeriesInstanceUID"].strip(), row["SeriesDescription"].strip())] = root / "jpeg" / relative

    def resolve(self, case: Case, image: str) -> Path:
        parts = case.image_path.split("/")
        uid = parts[2] if len(parts) > 2 else ""
        found = self.files.get((uid, SERIES[image]))
        if found is None:
            raise DataError(f"{case.csv}:{case.line}: no {SERIES[image]} JPEG for series {uid!r} in dicom_info.csv")
        return found


def load_cbis_ddsm(spec: CbisDdsmSpec) -> Loaded:
    root = spec.root
    if not root.is_dir():
        raise DataError(f"CBIS-DDSM folder not found: {root} (set data.root)")
    csv_dir = root / "csv" if (root / "csv").is_dir() else root
    jpeg = JpegIndex(root, csv_dir / "dicom_info.csv") if (csv_dir / "dicom_info.csv").is_file() and (root / "jpeg").is_dir() else None
    cases = [case for path, split in description_files(csv_dir, spec) for case in read_cases(path, split, spec.image)]
    if spec.image == "full":
        cases = _one_per_image(cases)

    paths, wheres = [], []
    for case in cases:
        where = f"{case.csv}:{case.line}"
        path = jpeg.resolve(case, spec.image) if jpeg is not None else root / case.image_path
        if not path.is_file():  # named by its CSV row before anything is decoded
            kind = "JPEG file not found" if jpeg is not None else "DICOM file not found"
            hint = " (listed in dicom_info.csv; is the jpeg/ folder complete?)" if jpeg is not None else ""
            raise DataError(f"{where}: {link_problem(path) or f'{kind}: {path}{hint}'}")
        paths.append(path)
        wheres.append(where)

    def named(index: int, exc: Exception) -> Exception:
        return DataError(f"{wheres[index]}: {exc}") if isinstance(exc, DataError) else exc

    origins = decode_all(paths, "grayscale", spec.image_size, on_error=named, framing=framing(spec))
    images = [d.pixels for d in origins]
    sources = [str(p) for p in paths]
    labels = np.asarray([c.label for c in cases], dtype=np.int8)
    patients = np.asarray([c.patient_id for c in cases], dtype=str)
    splits, notes = _splits(cases, labels, patients, spec)
    return Loaded(np.stack(images), labels, patients, provenance_of(sources, origins), notes, splits)


def _one_per_image(cases: list[Case]) -> list[Case]:
    """Full mammograms: several abnormalities share one image; malignant if any is."""
    by_image: dict[str, Case] = {}
    for case in cases:
        kept = by_image.get(case.image_path)
        if kept is None or case.label > kept.label:
            by_image[case.image_path] = case
    return list(by_image.values())


def _splits(cases: list[Case], labels: np.ndarray, patients: np.ndarray, spec: CbisDdsmSpec) -> tuple[np.ndarray, tuple[str, ...]]:
    notes: list[str] = []
    if not spec.keep_official_split:
        return assign_splits(labels, patients, SplitSpec(spec.validation, spec.test, spec.seed)), ()
    official = np.asarray([c.official_split for c in cases])
    test_patients = set(patients[official == "test"])
    moved = (official == "train") & np.isin(patients, list(test_patients))
    if moved.any():
        notes.append(f"moved {int(moved.sum())} training image(s) of {len(set(patients[moved]))} patient(s) who are also in the official test set to test")
    official = np.where(moved, "test", official)
    splits = official.astype(object)
    train = official == "train"
    splits[train] = assign_splits(labels[train], patients[train], SplitSpec(spec.validation, 0.0, spec.seed))
    return splits.astype(str), tuple(notes)


def task(spec: CbisDdsmSpec) -> Task:
    unit = "lesion crop" if spec.image == "crop" else "whole mammogram"
    return Task("benign_vs_malignant", "benign", "malignant", unit)


SOURCE = Source(
    task=task, framing=framing,
    name="cbis_ddsm", keys=spec_keys(CbisDdsmSpec),
    read=read, load=load_cbis_ddsm, describe=describe, files=files,
)
