"""One entry point from a data spec to a split, leak-checked :class:`ImageSet`.

Sources read from files are cached on disk (``cache.py``) keyed by their files and
every preprocessing parameter.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from mammosearch.data.arrays import cached, fingerprint, is_large, stored_or_made
from mammosearch.data.base import DataSpec, ImageSet, Loaded, Provenance, Source
from mammosearch.data.checks import UNDETERMINED, DataChecks, flip
from mammosearch.data.registry import source
from mammosearch.data.split import SplitSpec, assign_splits, check_no_patient_leakage
from mammosearch.errors import DataError


def _key(entry: Source, data: DataSpec) -> str:
    """The files and every preprocessing key of ``data`` (for a generated source, the spec alone)."""
    return f"{data.source}-{fingerprint(data, entry.files(data) if entry.files is not None else ())}"


def _load_cached(entry: Source, data: DataSpec, cache_dir: Path | None, key: str) -> Loaded:
    if entry.files is None or cache_dir is None:
        return entry.load(data)

    def compute() -> dict[str, np.ndarray]:
        loaded = entry.load(data)
        arrays = {
            "images": loaded.images, "labels": loaded.labels, "patient_ids": loaded.patient_ids.astype(str),
            "notes": np.asarray(loaded.notes, dtype=str), "patient_source": np.asarray(loaded.patient_source),
            **loaded.provenance.arrays(),
        }
        if loaded.splits is not None:
            arrays["splits"] = loaded.splits.astype(str)
        return arrays

    arrays, _ = cached(cache_dir, key, compute)
    return Loaded(
        arrays["images"], arrays["labels"], arrays["patient_ids"], Provenance.from_arrays(arrays),
        tuple(str(n) for n in arrays["notes"]), arrays.get("splits"), str(arrays["patient_source"]),
    )


def load_image_set(data: DataSpec, split: SplitSpec, cache_dir: Path | None = None, checks: DataChecks = DataChecks()) -> ImageSet:
    """Load ``data``, assign patient-grouped splits (unless the source gives them), check for
    leakage, and apply ``checks``: photometry (flip the images that look inverted under
    ``auto``) and ``patients: required``."""
    entry = source(data.source)
    key = _key(entry, data)
    loaded = _load_cached(entry, data, cache_dir, key)
    if checks.patients == "required" and loaded.patient_source == "file":
        raise DataError(
            "data.patients: required, but the data names no patient for each image; give data.patient_regex, "
            "a patient_id column in the manifest, or DICOM files with PatientID"
        )
    splits = loaded.splits if loaded.splits is not None else assign_splits(loaded.labels, loaded.patient_ids, split)
    check_no_patient_leakage(loaded.patient_ids, splits)
    flipped = (loaded.provenance.photometry > UNDETERMINED) if checks.photometry == "auto" else np.zeros(len(loaded.labels), bool)
    return ImageSet(
        images=_flipped(loaded.images, flipped, cache_dir, key),
        labels=loaded.labels,
        patient_ids=loaded.patient_ids,
        splits=splits,
        description=entry.describe(data, loaded),
        provenance=loaded.provenance,
        notes=loaded.notes,
        patient_source=loaded.patient_source,
        data_key=hashlib.sha256(f"{key}|{split}".encode()).hexdigest()[:32],
        flipped=flipped,
        task=entry.task(data),
        framing=entry.framing(data),
    )


def _flipped(images: np.ndarray, mask: np.ndarray, cache_dir: Path | None, key: str) -> np.ndarray:
    """``images`` with those under ``mask`` inverted: in memory, or for a large set a file beside the cache entry."""
    if not mask.any() or cache_dir is None or not is_large(images.nbytes):
        return flip(images, mask)
    final = Path(cache_dir) / f"{key}-flipped-{hashlib.sha256(np.packbits(mask).tobytes()).hexdigest()[:16]}.images.npy"
    return stored_or_made(final, images.shape, np.uint8, lambda out: flip(images, mask, out=out))
