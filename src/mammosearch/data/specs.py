"""Typed, validated descriptions of where the images come from.

``space.py`` builds these from the ``data:`` section of a YAML space; loaders take them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

ColorMode = Literal["grayscale", "rgb"]


@dataclass(frozen=True)
class SplitSpec:
    """Fractions of *patients* that go to validation and test (the rest trains)."""

    validation: float = 0.2
    test: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class SyntheticSpec:
    """Seeded mammogram-like phantoms: benign round masses vs malignant spiculated ones."""

    n_images: int = 400
    image_size: int = 64
    malignant_fraction: float = 0.5
    difficulty: float = 0.5  # 0 = obvious, 1 = nearly indistinguishable
    images_per_patient: int = 2  # like left/right views of one woman
    seed: int = 0
    source: Literal["synthetic"] = "synthetic"


@dataclass(frozen=True)
class FolderSpec:
    """``root/<class>/*.png|jpg|pgm|tif``; class names map to benign (0) and malignant (1)."""

    root: Path
    image_size: int = 64
    classes: tuple[str, str] = ("benign", "malignant")
    color: ColorMode = "grayscale"
    patient_regex: str | None = None  # first group (or whole match) is the patient id
    source: Literal["folder"] = "folder"


@dataclass(frozen=True)
class MiasSpec:
    """mini-MIAS (``Info.txt`` + ``mdbNNN.pgm|png``): lesion crops, or whole images."""

    root: Path | None = None  # None: the folder `mammosearch data fetch mini-mias` fills
    image_size: int = 64
    task: Literal["benign_vs_malignant", "normal_vs_abnormal"] = "benign_vs_malignant"
    margin: float = 1.5  # crop side = max(min_crop, 2 * radius * margin)
    min_crop: int = 64
    missing_coordinates: Literal["skip", "center"] = "skip"
    center_crop: int = 512  # crop side for lesions without coordinates when "center"
    source: Literal["mias"] = "mias"


@dataclass(frozen=True)
class CsvSpec:
    """A manifest CSV with ``path,label`` and optional ``patient_id``, ``split`` columns."""

    path: Path
    image_size: int = 64
    color: ColorMode = "grayscale"
    # Extra label spellings -> 0/1 (lower-case keys), on top of 0/1 and benign/malignant;
    # a tuple of pairs rather than a dict so the spec stays hashable.
    labels: tuple[tuple[str, int], ...] = ()
    source: Literal["csv"] = "csv"


@dataclass(frozen=True)
class CbisDdsmSpec:
    """CBIS-DDSM description CSVs with DICOM files or the JPEG re-export."""

    root: Path
    image_size: int = 64
    abnormality: Literal["mass", "calc", "both"] = "mass"
    image: Literal["crop", "full"] = "crop"
    keep_official_split: bool = True  # official test set -> test; train -> train/val by patient
    validation: float = 0.2  # fraction of training patients for validation
    test: float = 0.2  # only when keep_official_split is false
    seed: int = 0
    source: Literal["cbis_ddsm"] = "cbis_ddsm"


DataSpec = Union[SyntheticSpec, FolderSpec, MiasSpec, CsvSpec, CbisDdsmSpec]
