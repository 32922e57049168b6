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
from mammosearch.data.specs import DataSpec, FolderSpec, SplitSpec, SyntheticSpec
from mammosearch.data.split import assign_splits, check_no_patient_leakage
from mammosearch.data.synthetic import generate_synthetic

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]  # images, labels, patient_ids


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


LOADERS: dict[str, Loader] = {
    "synthetic": Loader(generate_synthetic, _describe_synthetic),
    "folder": Loader(load_folder, _describe_folder),
}


def load_image_set(data: DataSpec, split: SplitSpec) -> ImageSet:
    """Load ``data``, assign patient-grouped splits and check that no patient leaks."""
    try:
        loader = LOADERS[data.source]
    except KeyError:
        known = ", ".join(sorted(LOADERS))
        raise ValueError(f"no loader for data source {data.source!r} (known: {known})") from None
    images, labels, patient_ids = loader.load(data)
    splits = assign_splits(labels, patient_ids, split)
    check_no_patient_leakage(patient_ids, splits)
    return ImageSet(
        images=images,
        labels=labels,
        patient_ids=patient_ids,
        splits=splits,
        description=loader.describe(data, images, labels, patient_ids),
    )
