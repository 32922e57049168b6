"""One entry point from a data spec to a split, leak-checked :class:`ImageSet`.

Loaders are looked up in ``LOADERS`` by the spec's ``source`` field; a new source (csv,
mias, cbis_ddsm) adds its spec to ``specs.py`` and one :class:`Loader` entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mammosearch.data.base import ImageSet
from mammosearch.data.folder import load_folder
from mammosearch.data.mias import default_root, load_mias
from mammosearch.data.specs import DataSpec, FolderSpec, MiasSpec, SplitSpec, SyntheticSpec
from mammosearch.data.split import assign_splits, check_no_patient_leakage
from mammosearch.data.synthetic import generate_synthetic

# images, labels, patient_ids, and optionally notes (what was skipped, for the run summary)
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]


@dataclass(frozen=True)
class Loader:
    """How to load one source and how to describe what was loaded, in one line."""

    load: Callable[[Any], Arrays]
    describe: Callable[[Any, np.ndarray, np.ndarray, np.ndarray], str]


def _describe_synthetic(
    spec: SyntheticSpec, images: np.ndarray, labels: np.ndarray, ids: np.ndarray
) -> str:
    return (
        f"synthetic phantoms: {len(images)} images, {int(labels.sum())} malignant, "
        f"{len(np.unique(ids))} patients, {images.shape[1]} px, "
        f"difficulty {spec.difficulty:g}, seed {spec.seed}"
    )


def _describe_folder(
    spec: FolderSpec, images: np.ndarray, labels: np.ndarray, ids: np.ndarray
) -> str:
    n_malignant = int(labels.sum())
    return (
        f"folder {spec.root}: {len(images)} images ({len(images) - n_malignant} "
        f"{spec.classes[0]}, {n_malignant} {spec.classes[1]}), {len(np.unique(ids))} "
        f"patients, {images.shape[1]} px {spec.color}"
    )


def _describe_mias(spec: MiasSpec, images: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> str:
    n_positive = int(labels.sum())
    what = (
        f"{len(images)} lesion crops ({len(images) - n_positive} benign, {n_positive} malignant)"
        if spec.task == "benign_vs_malignant"
        else f"{len(images)} whole images ({len(images) - n_positive} normal, {n_positive} abnormal)"
    )
    return f"mini-MIAS {spec.root or default_root()}: {what}, {len(np.unique(ids))} women, {images.shape[1]} px"


LOADERS: dict[str, Loader] = {
    "synthetic": Loader(generate_synthetic, _describe_synthetic),
    "folder": Loader(load_folder, _describe_folder),
    "mias": Loader(load_mias, _describe_mias),
}


def load_image_set(data: DataSpec, split: SplitSpec) -> ImageSet:
    """Load ``data``, assign patient-grouped splits and check that no patient leaks."""
    try:
        loader = LOADERS[data.source]
    except KeyError:
        known = ", ".join(sorted(LOADERS))
        raise ValueError(f"no loader for data source {data.source!r} (known: {known})") from None
    loaded = loader.load(data)
    images, labels, patient_ids = loaded[:3]
    notes: tuple[str, ...] = loaded[3] if len(loaded) > 3 else ()  # type: ignore[misc]
    splits = assign_splits(labels, patient_ids, split)
    check_no_patient_leakage(patient_ids, splits)
    return ImageSet(
        images=images,
        labels=labels,
        patient_ids=patient_ids,
        splits=splits,
        description=loader.describe(data, images, labels, patient_ids),
        notes=notes,
    )
