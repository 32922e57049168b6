"""What every data source is: its spec, its :class:`Source` entry, and the :class:`ImageSet` it yields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mammosearch.data.decode import Framing
from mammosearch.data.task import LESION, Task
from mammosearch.spec import Fields, ImageSize

SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class Provenance:
    """Where each image came from and how it was stored, one entry per image.

    Carried from the decoder through the cache to the trial, so predictions and reports
    name files (``path``, or ``path#k`` for the k-th crop of one file), and the data
    fingerprint can look at what the acquisition left behind (size, bit depth, photometry,
    site) rather than at the lesion.
    """

    sources: np.ndarray  # str
    heights: np.ndarray  # int: stored size, before any crop or resize
    widths: np.ndarray
    bits: np.ndarray  # int: bits per sample as stored (8 for an 8-bit PNG or JPEG)
    file_patients: np.ndarray  # str: the patient the file itself names (DICOM PatientID), "" if none
    inverted: np.ndarray  # bool: stored inverted (DICOM MONOCHROME1) and brought to dark background by the decoder
    sites: np.ndarray  # str: acquisition site or group when the data names one (a manifest's `site` column), else ""
    photometry: np.ndarray  # float: > 0 the decoded file looks inverted (pixels.photometry_score)
    # What data/decode/_framing.py did before the resize ("" where it was not asked): "breast" cropped or
    # "none_found" kept whole; the chest wall's side as stored ("left"/"right") and who said so ("dicom"/"image").
    crop: np.ndarray  # str
    chest_wall: np.ndarray  # str
    chest_wall_from: np.ndarray  # str

    FIELDS = ("sources", "heights", "widths", "bits", "file_patients", "inverted", "sites", "photometry", "crop", "chest_wall", "chest_wall_from")

    def __post_init__(self) -> None:
        if len({len(getattr(self, name)) for name in self.FIELDS}) != 1:
            raise ValueError("every Provenance field needs one entry per image")

    def __len__(self) -> int:
        return len(self.sources)

    def take(self, index: np.ndarray) -> Provenance:
        return Provenance(**{name: getattr(self, name)[index] for name in self.FIELDS})

    def arrays(self, prefix: str = "provenance_") -> dict[str, np.ndarray]:
        return {prefix + name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "provenance_") -> Provenance:
        return cls(**{name: arrays[prefix + name] for name in cls.FIELDS})

    @classmethod
    def generated(cls, sources: list[str], size: int) -> Provenance:
        """Images made in memory (synthetic phantoms): 8-bit, square, no file behind them."""
        n = len(sources)
        return cls(
            sources=np.asarray(sources, dtype=str), heights=np.full(n, size), widths=np.full(n, size), bits=np.full(n, 8),
            file_patients=np.full(n, "", dtype=str), inverted=np.zeros(n, dtype=bool), sites=np.full(n, "", dtype=str),
            photometry=np.full(n, -1.0),  # generated the usual way round
            crop=np.full(n, "", dtype=str), chest_wall=np.full(n, "", dtype=str), chest_wall_from=np.full(n, "", dtype=str),
        )


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
    provenance: Provenance
    notes: tuple[str, ...] = ()  # what the loader skipped or changed, for the run summary
    # Where the patient ids come from: regex, column, dicom (PatientID), file (none given:
    # each file its own patient) or source (the data set defines them, e.g. mini-MIAS women).
    patient_source: str = "source"
    data_key: str = ""  # identifies the files, preprocessing and split (what the fingerprint cache keys on)
    flipped: np.ndarray | None = None  # bool per image: inverted by data.photometry: auto
    task: Task = LESION  # what label 0 and 1 mean
    framing: Framing = Framing()  # crop and orientation the loader applied (data/decode/_framing.py)

    def __post_init__(self) -> None:
        n = len(self.images)
        if not (len(self.labels) == len(self.patient_ids) == len(self.splits) == len(self.provenance) == n):
            raise ValueError("images, labels, patient_ids, splits and provenance must have the same length")

    @property
    def sources(self) -> np.ndarray:
        return self.provenance.sources

    def subset(self, split: str) -> ImageSet:
        mask = self.splits == split
        return ImageSet(
            images=self.images[mask],
            labels=self.labels[mask],
            patient_ids=self.patient_ids[mask],
            splits=self.splits[mask],
            description=f"{self.description} [{split}]",
            provenance=self.provenance.take(mask),
            notes=self.notes,
            patient_source=self.patient_source,
            data_key="",
            flipped=None if self.flipped is None else self.flipped[mask],
            task=self.task,
            framing=self.framing,
        )

    @property
    def carries_patients(self) -> bool:
        """Whether the ids name patients (not each file standing for its own patient)."""
        return self.patient_source != "file"

    @property
    def channels(self) -> int:
        return int(self.images.shape[-1])

    @property
    def size(self) -> ImageSize:
        return ImageSize(int(self.images.shape[1]), int(self.images.shape[2]))

    @property
    def image_size(self) -> int | str:
        """``data.image_size`` as a study and a card record it: the int for a square (as always), else ``"HxW"``."""
        return self.size.param()

    def has_split(self, split: str) -> bool:
        return bool(np.any(self.splits == split))


class DataSpec(Protocol):
    """A source's typed, validated settings (a frozen dataclass in ``sources/<name>.py``)."""

    @property
    def source(self) -> str: ...

    @property
    def image_size(self) -> int | str: ...


@dataclass(frozen=True)
class Loaded:
    """What a loader produces; ``splits`` only when the source fixes them itself."""

    images: np.ndarray
    labels: np.ndarray
    patient_ids: np.ndarray
    provenance: Provenance
    notes: tuple[str, ...] = ()
    splits: np.ndarray | None = None
    patient_source: str = "source"  # see ImageSet.patient_source


@dataclass(frozen=True)
class Source:
    """One data source: its YAML keys and reader, its loader, its files, its one-line description.

    ``files`` lists what the decoded-image cache keys on; None means nothing is read from
    disk (nothing to cache).
    """

    name: str
    keys: tuple[str, ...]
    read: Callable[[Fields, dict[str, Any]], Any]
    load: Callable[[Any], Loaded]
    describe: Callable[[Any, Loaded], str]
    files: Callable[[Any], Iterable[Path]] | None = None
    task: Callable[[Any], Task] = lambda spec: LESION  # what label 0 and 1 mean for this spec
    framing: Callable[[Any], Framing] = lambda spec: Framing()  # crop and orientation before the resize (data/decode/_framing.py)
