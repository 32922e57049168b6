"""What every data source is: its spec, its :class:`Source` entry, and the :class:`ImageSet` it yields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mammosearch.config.fields import Fields

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

    def subset(self, split: str) -> ImageSet:
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


class DataSpec(Protocol):
    """A source's typed, validated settings (a frozen dataclass in ``sources/<name>.py``)."""

    @property
    def source(self) -> str: ...

    @property
    def image_size(self) -> int: ...


@dataclass(frozen=True)
class Loaded:
    """What a loader produces; ``splits`` only when the source fixes them itself."""

    images: np.ndarray
    labels: np.ndarray
    patient_ids: np.ndarray
    notes: tuple[str, ...] = ()
    splits: np.ndarray | None = None


@dataclass(frozen=True)
class Source:
    """One data source: its YAML keys and reader, its loader, its files, its one-line description.

    ``load`` returns ``(images, labels, patient_ids[, notes[, splits]])``: the fields of
    :class:`Loaded` in order. ``files`` lists what the decoded-image cache keys on; None
    means nothing is read from disk (nothing to cache).
    """

    name: str
    keys: tuple[str, ...]
    read: Callable[[Fields, dict[str, Any]], Any]
    load: Callable[[Any], tuple[Any, ...]]
    describe: Callable[[Any, Loaded], str]
    files: Callable[[Any], Iterable[Path]] | None = None
