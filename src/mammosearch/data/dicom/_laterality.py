"""Which breast a DICOM file shows, from its tags: what puts its chest wall on one side (data/decode/_orientation.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["LATERALITY_TAGS", "laterality_from_dataset", "laterality_of_file"]

LATERALITY_TAGS = ("ImageLaterality", "Laterality")  # (0020,0062) the image's own, else (0020,0060) the series'


def laterality_from_dataset(ds: Dataset) -> str | None:
    """``"L"`` or ``"R"`` from ``ImageLaterality``, else ``Laterality``; None when neither says (absent, empty, ``B``, ``U``)."""
    for name in LATERALITY_TAGS:
        value = str(ds.get(name) or "").strip().upper()
        if value in ("L", "R"):
            return value
    return None


def laterality_of_file(path: Path) -> str | None:
    """The laterality a DICOM file's header states (its pixels are not read)."""
    from pydicom import dcmread

    return laterality_from_dataset(dcmread(path, stop_before_pixels=True, specific_tags=["ImageLaterality", "Laterality"]))
