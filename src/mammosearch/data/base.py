"""The one in-memory form every loader produces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class ImageSet:
    """Images with labels, patient ids and the split each image belongs to.

    ``images`` is ``uint8`` of shape ``(N, H, W, C)`` with C = 1 (grayscale) or 3;
    models take raw 0..255 pixels and do their own preprocessing, so an exported model
    needs nothing but the image. ``labels`` is 0 = benign, 1 = malignant.
    """

    images: np.ndarray
    labels: np.ndarray
    patient_ids: np.ndarray
    splits: np.ndarray
    description: str
    notes: tuple[str, ...] = ()  # what the loader skipped or changed, for the run summary

    def __post_init__(self) -> None:
        n = len(self.images)
        if not (len(self.labels) == len(self.patient_ids) == len(self.splits) == n):
            raise ValueError("images, labels, patient_ids and splits must have the same length")

    def subset(self, split: str) -> "ImageSet":
        mask = self.splits == split
        return ImageSet(
            images=self.images[mask],
            labels=self.labels[mask],
            patient_ids=self.patient_ids[mask],
            splits=self.splits[mask],
            description=f"{self.description} [{split}]",
            notes=self.notes,
        )

    @property
    def channels(self) -> int:
        return int(self.images.shape[-1])

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])

    def has_split(self, split: str) -> bool:
        return bool(np.any(self.splits == split))
