"""A small CBIS-DDSM layout written for tests: its CSV rows, DICOM files and folders."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

MASS_COLUMNS = ["patient_id", "breast_density", "left or right breast", "image view", "abnormality id", "abnormality type",
                "mass shape", "mass margins", "assessment", "pathology", "subtlety", "image file path",
                "cropped image file path", "ROI mask file path"]
PATHOLOGIES = ["BENIGN", "MALIGNANT", "BENIGN_WITHOUT_CALLBACK", "MALIGNANT"]


def _write_dicom(path: Path, value: int, photometric: str = "MONOCHROME2", uid: str = "1.2.3") -> None:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SeriesInstanceUID = uid
    ds.Rows, ds.Columns = 64, 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    pixels = np.zeros((64, 64), dtype=np.uint16)
    pixels[16:48, 16:48] = value  # a 12-bit "lesion" on a dark background
    ds.PixelData = pixels.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _rows(kind: str, part: str, n: int, offset: int) -> list[dict[str, str]]:
    rows = []
    for i in range(n):
        patient = f"P_{offset + i:05d}"
        series = f"1.3.6.1.{offset + i}"
        stem = f"{kind.capitalize()}-{'Training' if part == 'train' else 'Test'}_{patient}_LEFT_CC"
        rows.append({
            **{c: "x" for c in MASS_COLUMNS},
            "patient_id": patient,
            "abnormality type": kind,
            "pathology": PATHOLOGIES[i % 4],
            "image file path": f"{stem}/1.3.6.1.9/{series}.0/000000.dcm",
            "cropped image file path": f"{stem}_1/1.3.6.1.8/{series}.1/000000.dcm",
            "ROI mask file path": f"{stem}_1/1.3.6.1.8/{series}.1/000001.dcm",
        })
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] = MASS_COLUMNS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _dicom_fixture(root: Path, n_train: int = 12, n_test: int = 4) -> Path:
    for part, n, offset in (("train", n_train, 0), ("test", n_test, 100)):
        rows = _rows("mass", part, n, offset)
        _write_csv(root / f"mass_case_description_{part}_set.csv", rows)
        for i, row in enumerate(rows):
            photometric = "MONOCHROME1" if (part, i) == ("train", 0) else "MONOCHROME2"
            _write_dicom(root / row["cropped image file path"], 1000 + 200 * (i % 4), photometric)
            _write_dicom(root / row["image file path"], 3000, uid=row["image file path"].split("/")[2])
    return root
