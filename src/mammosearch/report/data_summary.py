"""What `mammosearch data inspect` shows: counts per class, patient and split, the leakage
check and a grid of sample images per class (what the model sees)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mammosearch.data import SPLIT_NAMES, ImageSet, check_no_patient_leakage
from mammosearch.data.arrays import chunks
from mammosearch.errors import DataError

CLASS_NAMES = ("benign", "malignant")


@dataclass(frozen=True)
class DataSummary:
    description: str
    counts: pd.DataFrame  # rows: split; columns: images/patients per class
    image_shape: tuple[int, int, int]
    intensity: pd.DataFrame  # per class: mean, std, min, max of pixel values
    leakage: str  # "none" or the error text
    notes: tuple[str, ...]


def summarize(images: ImageSet) -> DataSummary:
    rows = []
    for split in (*SPLIT_NAMES, "all"):
        mask = np.ones(len(images.labels), dtype=bool) if split == "all" else images.splits == split
        if not mask.any():
            continue
        row: dict[str, object] = {"split": split}
        for label, name in enumerate(CLASS_NAMES):
            chosen = mask & (images.labels == label)
            row[f"{name}_images"] = int(chosen.sum())
            row[f"{name}_patients"] = len(set(images.patient_ids[chosen]))
        row["patients"] = len(set(images.patient_ids[mask]))
        rows.append(row)
    intensity = pd.DataFrame([{"class": name, **pixel_statistics(images.images, images.labels == label)} for label, name in enumerate(CLASS_NAMES)])
    try:
        check_no_patient_leakage(images.patient_ids, images.splits)
        leakage = "none: no patient appears in two splits"
    except DataError as exc:
        leakage = str(exc)
    return DataSummary(
        description=images.description,
        counts=pd.DataFrame(rows),
        image_shape=tuple(int(d) for d in images.images.shape[1:]),  # type: ignore[arg-type]
        intensity=intensity,
        leakage=leakage,
        notes=tuple(getattr(images, "notes", ()) or ()),
    )


def pixel_statistics(pixels: np.ndarray, mask: np.ndarray) -> dict[str, float | int | None]:
    """Mean, standard deviation, min and max of the pixels of the images under ``mask``, a chunk at a time."""
    if not mask.any():
        return {"mean": None, "std": None, "min": None, "max": None}
    total = squares = 0.0
    count, low, high = 0, 255, 0
    for start, rows in chunks(pixels):
        chunk = rows[mask[start : start + len(rows)]]
        if not len(chunk):
            continue
        values = chunk.astype(np.float64)
        total, squares, count = total + float(values.sum()), squares + float(np.square(values).sum()), count + values.size
        low, high = min(low, int(chunk.min())), max(high, int(chunk.max()))
    mean = total / count
    return {"mean": mean, "std": float(np.sqrt(max(squares / count - mean * mean, 0.0))), "min": low, "max": high}


def sample_grid(images: ImageSet, path: Path, per_class: int = 8, seed: int = 0) -> Path:
    """A PNG with one row of random samples per class, at the size the model sees them."""
    from mammosearch.report.plots import plot_image_rows

    rng = np.random.default_rng(seed)
    rows = []
    for label, name in enumerate(CLASS_NAMES):
        indices = np.flatnonzero(images.labels == label)
        chosen = rng.choice(indices, size=min(per_class, len(indices)), replace=False) if len(indices) else indices
        rows.append((f"{name} ({len(indices)})", [images.images[i] for i in chosen], [str(images.patient_ids[i]) for i in chosen]))
    return plot_image_rows(rows, path, title=images.description)
