"""One entry point from a data spec to a split, leak-checked :class:`ImageSet`.

Sources read from files are cached on disk (``cache.py``) keyed by their files and
every preprocessing parameter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mammosearch.data.base import DataSpec, ImageSet, Loaded, Provenance, Source
from mammosearch.data.cache import cached, fingerprint
from mammosearch.data.registry import source
from mammosearch.data.split import SplitSpec, assign_splits, check_no_patient_leakage


def _load_cached(entry: Source, data: DataSpec, cache_dir: Path | None) -> Loaded:
    if entry.files is None or cache_dir is None:
        return entry.load(data)
    key = f"{data.source}-{fingerprint(data, entry.files(data))}"

    def compute() -> dict[str, np.ndarray]:
        loaded = entry.load(data)
        arrays = {
            "images": loaded.images, "labels": loaded.labels, "patient_ids": loaded.patient_ids.astype(str),
            "notes": np.asarray(loaded.notes, dtype=str), **loaded.provenance.arrays(),
        }
        if loaded.splits is not None:
            arrays["splits"] = loaded.splits.astype(str)
        return arrays

    arrays, _ = cached(cache_dir, key, compute)
    return Loaded(
        arrays["images"], arrays["labels"], arrays["patient_ids"], Provenance.from_arrays(arrays),
        tuple(str(n) for n in arrays["notes"]), arrays.get("splits"),
    )


def load_image_set(data: DataSpec, split: SplitSpec, cache_dir: Path | None = None) -> ImageSet:
    """Load ``data``, assign patient-grouped splits (unless the source gives them) and check for leakage."""
    entry = source(data.source)
    loaded = _load_cached(entry, data, cache_dir)
    splits = loaded.splits if loaded.splits is not None else assign_splits(loaded.labels, loaded.patient_ids, split)
    check_no_patient_leakage(loaded.patient_ids, splits)
    return ImageSet(
        images=loaded.images,
        labels=loaded.labels,
        patient_ids=loaded.patient_ids,
        splits=splits,
        description=entry.describe(data, loaded),
        provenance=loaded.provenance,
        notes=loaded.notes,
    )
