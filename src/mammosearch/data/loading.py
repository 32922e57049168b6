"""One entry point from a data spec to a split, leak-checked :class:`ImageSet`.

Loaders are looked up in ``LOADERS`` by the spec's ``source`` field; a new source adds
its spec to ``specs.py`` and one :class:`Loader` entry here. Sources read from files are
cached on disk (``cache.py``) keyed by their files and every preprocessing parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from mammosearch.data.base import ImageSet
from mammosearch.data.cache import cached, fingerprint
from mammosearch.data.cbis_ddsm import load_cbis_ddsm
from mammosearch.data.folder import load_folder
from mammosearch.data.images import is_image_file
from mammosearch.data.manifest import load_manifest
from mammosearch.data.mias import default_root, load_mias
from mammosearch.data.specs import CbisDdsmSpec, CsvSpec, DataSpec, FolderSpec, MiasSpec, SplitSpec, SyntheticSpec
from mammosearch.data.split import assign_splits, check_no_patient_leakage
from mammosearch.data.synthetic import generate_synthetic


@dataclass(frozen=True)
class Loaded:
    """What a loader produces; ``splits`` only when the source fixes them itself."""

    images: np.ndarray
    labels: np.ndarray
    patient_ids: np.ndarray
    notes: tuple[str, ...] = ()
    splits: np.ndarray | None = None


@dataclass(frozen=True)
class Loader:
    """How to load one source, which files it reads (for the cache key), and a one-line description.

    ``load`` returns ``(images, labels, patient_ids[, notes[, splits]])``: the fields of
    :class:`Loaded` in order.
    """

    load: Callable[[Any], tuple]
    describe: Callable[[Any, Loaded], str]
    files: Callable[[Any], Iterable[Path]] | None = None  # None: nothing to cache (synthetic)


def _describe_synthetic(spec: SyntheticSpec, data: Loaded) -> str:
    return (
        f"synthetic phantoms: {len(data.images)} images, {int(data.labels.sum())} malignant, "
        f"{len(np.unique(data.patient_ids))} patients, {data.images.shape[1]} px, "
        f"difficulty {spec.difficulty:g}, seed {spec.seed}"
    )


def _folder_files(spec: FolderSpec) -> list[Path]:
    root = Path(spec.root)
    return [p for c in spec.classes if (root / c).is_dir() for p in (root / c).iterdir() if is_image_file(p)]


def _describe_folder(spec: FolderSpec, data: Loaded) -> str:
    n_malignant = int(data.labels.sum())
    return (
        f"folder {spec.root}: {len(data.images)} images ({len(data.images) - n_malignant} "
        f"{spec.classes[0]}, {n_malignant} {spec.classes[1]}), {len(np.unique(data.patient_ids))} "
        f"patients, {data.images.shape[1]} px {spec.color}"
    )


def _mias_files(spec: MiasSpec) -> list[Path]:
    root = spec.root or default_root()
    return [p for folder in (root, root / "images") if folder.is_dir() for p in folder.iterdir() if p.suffix.lower() in (".pgm", ".png", ".txt")]


def _describe_mias(spec: MiasSpec, data: Loaded) -> str:
    n_positive = int(data.labels.sum())
    n = len(data.images)
    what = (
        f"{n} lesion crops ({n - n_positive} benign, {n_positive} malignant)"
        if spec.task == "benign_vs_malignant"
        else f"{n} whole images ({n - n_positive} normal, {n_positive} abnormal)"
    )
    return f"mini-MIAS {spec.root or default_root()}: {what}, {len(np.unique(data.patient_ids))} women, {data.images.shape[1]} px"


def _csv_files(spec: CsvSpec) -> list[Path]:
    # The manifest's own stat covers edits to it; the images it names are listed by it.
    import csv

    files = [spec.path]
    if spec.path.is_file():
        with spec.path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                candidate = (spec.path.parent / (row.get("path") or "").strip()).resolve()
                if candidate.is_file():
                    files.append(candidate)
    return files


def _describe_csv(spec: CsvSpec, data: Loaded) -> str:
    n_malignant = int(data.labels.sum())
    given = ", splits from the manifest" if data.splits is not None else ""
    return (
        f"manifest {spec.path}: {len(data.images)} images ({len(data.images) - n_malignant} benign, "
        f"{n_malignant} malignant), {len(np.unique(data.patient_ids))} patients, {data.images.shape[1]} px{given}"
    )


def _cbis_files(spec: CbisDdsmSpec) -> list[Path]:
    # Description CSVs (and dicom_info.csv) plus every image file under the root.
    root = Path(spec.root)
    if not root.is_dir():
        return []
    return [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".dcm", ".jpg", ".jpeg", ".png")]


def _describe_cbis(spec: CbisDdsmSpec, data: Loaded) -> str:
    n_malignant = int(data.labels.sum())
    return (
        f"CBIS-DDSM {spec.root}: {spec.abnormality} {spec.image}s, {len(data.images)} images "
        f"({len(data.images) - n_malignant} benign, {n_malignant} malignant), "
        f"{len(np.unique(data.patient_ids))} patients, {data.images.shape[1]} px, "
        f"{'official test split' if spec.keep_official_split else 're-split by patient'}"
    )


LOADERS: dict[str, Loader] = {
    "synthetic": Loader(generate_synthetic, _describe_synthetic),
    "folder": Loader(load_folder, _describe_folder, _folder_files),
    "mias": Loader(load_mias, _describe_mias, _mias_files),
    "csv": Loader(load_manifest, _describe_csv, _csv_files),
    "cbis_ddsm": Loader(load_cbis_ddsm, _describe_cbis, _cbis_files),
}


def _load_cached(loader: Loader, data: DataSpec, cache_dir: Path | None) -> Loaded:
    if loader.files is None or cache_dir is None:
        return Loaded(*loader.load(data))
    key = f"{data.source}-{fingerprint(data, loader.files(data))}"

    def compute() -> dict[str, np.ndarray]:
        loaded = Loaded(*loader.load(data))
        arrays = {"images": loaded.images, "labels": loaded.labels, "patient_ids": loaded.patient_ids.astype(str), "notes": np.asarray(loaded.notes, dtype=str)}
        if loaded.splits is not None:
            arrays["splits"] = loaded.splits.astype(str)
        return arrays

    arrays, _ = cached(cache_dir, key, compute)
    return Loaded(arrays["images"], arrays["labels"], arrays["patient_ids"], tuple(str(n) for n in arrays["notes"]), arrays.get("splits"))


def load_image_set(data: DataSpec, split: SplitSpec, cache_dir: Path | None = None) -> ImageSet:
    """Load ``data``, assign patient-grouped splits (unless the source gives them) and check for leakage."""
    try:
        loader = LOADERS[data.source]
    except KeyError:
        known = ", ".join(sorted(LOADERS))
        raise ValueError(f"no loader for data source {data.source!r} (known: {known})") from None
    loaded = _load_cached(loader, data, cache_dir)
    splits = loaded.splits if loaded.splits is not None else assign_splits(loaded.labels, loaded.patient_ids, split)
    check_no_patient_leakage(loaded.patient_ids, splits)
    return ImageSet(
        images=loaded.images,
        labels=loaded.labels,
        patient_ids=loaded.patient_ids,
        splits=splits,
        description=loader.describe(data, loaded),
        notes=loaded.notes,
    )
