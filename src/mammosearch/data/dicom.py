"""DICOM files -> the pixels a model sees, as radiology software displays them.

Shared by every loader (``folder``, ``csv``, ``cbis_ddsm``) through ``decode.decode_file``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mammosearch.data.pixels import ColorMode, Decoded, as_color, stretch_to_uint8
from mammosearch.errors import DataError


def decode_dicom(path: Path, color: ColorMode) -> Decoded:
    try:
        import pydicom
    except ImportError:
        raise DataError(f"cannot read DICOM {path}: pydicom is not installed (pip install 'mammosearch[dicom]')") from None
    try:
        dataset = pydicom.dcmread(path)
        pixels = dataset.pixel_array.astype(np.float64)
    except Exception as exc:  # pydicom raises many types for broken files
        raise DataError(f"cannot read DICOM {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    inverted = getattr(dataset, "PhotometricInterpretation", "") == "MONOCHROME1"
    if inverted:
        pixels = pixels.max() - pixels  # MONOCHROME1: high values are dark
    out = as_color(stretch_to_uint8(pixels), color)
    patient = str(getattr(dataset, "PatientID", "") or "").strip() or None
    return Decoded(out, int(getattr(dataset, "BitsStored", 8)), patient, inverted)
