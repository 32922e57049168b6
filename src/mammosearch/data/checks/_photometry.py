"""Which images look inverted (bright background), how that is spread over classes and splits, and the flip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mammosearch.data.arrays import chunks, release
from mammosearch.data.pixels import UNDETERMINED

__all__ = ["UNDETERMINED", "PhotometryCheck", "check_photometry", "flip", "table", "warnings_for"]


@dataclass(frozen=True)
class PhotometryCheck:
    looks_inverted: np.ndarray  # bool per image, as decoded (before any flip)
    undetermined: np.ndarray  # bool per image: no background to judge by
    tag_inverted: np.ndarray  # bool per image: MONOCHROME1, inverted by the decoder from its tag
    flipped: bool  # whether photometry: auto flipped the ones that look inverted


def check_photometry(scores: np.ndarray, tag_inverted: np.ndarray, policy: str) -> PhotometryCheck:
    looks = scores > UNDETERMINED
    return PhotometryCheck(looks, np.abs(scores) <= UNDETERMINED, tag_inverted.astype(bool), policy == "auto" and bool(looks.any()))


def flip(images: np.ndarray, mask: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Invert the images under ``mask`` (into a copy, or into ``out``: the cached arrays are never changed).

    A chunk at a time, so a large memory-mapped set can be flipped into another file.
    """
    if not mask.any():
        return images
    if out is None:
        out = np.empty_like(images)
    for start, chunk in chunks(images):
        inverted = mask[start : start + len(chunk)]
        out[start : start + len(chunk)] = chunk
        out[start : start + len(chunk)][inverted] = 255 - chunk[inverted]
        release(out)
    return out


def table(check: PhotometryCheck, labels: np.ndarray, splits: np.ndarray) -> list[dict[str, object]]:
    """Per split: images that look inverted among the benign and the malignant ones."""
    rows: list[dict[str, object]] = []
    for split in ("train", "val", "test", "all"):
        mask = np.ones(len(labels), bool) if split == "all" else splits == split
        if not mask.any():
            continue
        row: dict[str, object] = {"split": split}
        for label, name in ((0, "benign"), (1, "malignant")):
            members = mask & (labels == label)
            row[f"{name}_inverted"] = int((check.looks_inverted & members).sum())
            row[f"{name}_images"] = int(members.sum())
        rows.append(row)
    return rows


def warnings_for(check: PhotometryCheck, labels: np.ndarray, splits: np.ndarray) -> list[str]:
    n = len(labels)
    inverted = int(check.looks_inverted.sum())
    notes: list[str] = []
    if check.tag_inverted.any():
        notes.append(f"{int(check.tag_inverted.sum())} DICOM file(s) are MONOCHROME1 and were inverted by the decoder, as their tag asks")
    if inverted == 0:
        return notes
    rates = {name: float(check.looks_inverted[labels == label].mean()) if (labels == label).any() else 0.0 for label, name in ((0, "benign"), (1, "malignant"))}
    spread = f"{rates['benign']:.0%} of benign, {rates['malignant']:.0%} of malignant"
    by_split = ", ".join(f"{s} {int((check.looks_inverted & (splits == s)).sum())}" for s in ("train", "val", "test") if (splits == s).any())
    action = "flipped to dark background (data.photometry: auto)" if check.flipped else "left as they are (data.photometry: as_is): a model can learn the inversion instead of the lesion"
    if inverted == n:
        notes.append(f"data.photometry: every image ({n}) looks inverted (bright background); all were {action.split(' (')[0]} — check how this data set was exported")
    else:
        notes.append(f"data.photometry: {inverted} of {n} images look inverted (bright background): {spread}; by split: {by_split}; {action}")
    if abs(rates["benign"] - rates["malignant"]) >= 0.05 and inverted != n:
        notes.append(f"inverted images are unevenly spread over the classes ({spread}): without the flip the photometry alone predicts the label")
    return notes
