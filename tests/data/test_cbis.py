"""CBIS-DDSM on fixtures in its exact formats: real DICOM files (pydicom) and the JPEG re-export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cbis_files import MASS_COLUMNS, _dicom_fixture, _rows, _write_csv, _write_dicom
from mammosearch.data import CbisDdsmSpec, SplitSpec, load_image_set
from mammosearch.data.checks import DataChecks
from mammosearch.errors import DataError

pydicom = pytest.importorskip("pydicom", reason="pydicom is the `dicom` extra: pip install -e '.[dicom]'")

def test_dicom_layout_crops_labels_and_the_official_split(tmp_path):
    # as_is: this checks the decoder's own MONOCHROME1 inversion; the fixture's MONOCHROME1 crop
    # stores 0 as background (it displays white), which photometry: auto would flip back.
    images = load_image_set(CbisDdsmSpec(root=_dicom_fixture(tmp_path / "cbis"), image_size=32, validation=0.25), SplitSpec(), checks=DataChecks(photometry="as_is"))
    assert images.images.shape == (16, 32, 32, 1)
    assert images.labels.tolist()[:4] == [0, 1, 0, 1]  # BENIGN_WITHOUT_CALLBACK is benign
    test_patients = {p for p, s in zip(images.patient_ids, images.splits) if s == "test"}
    assert test_patients == {f"P_{100 + i:05d}" for i in range(4)}  # the official test set
    assert set(images.splits[images.patient_ids < "P_00100"]) == {"train", "val"}
    # 12-bit DICOM stretched to 8 bits; MONOCHROME2 lesion bright, MONOCHROME1 inverted.
    assert images.images[1, 16, 16, 0] == 255 and images.images[1, 2, 2, 0] == 0
    assert images.images[0, 16, 16, 0] == 0 and images.images[0, 2, 2, 0] == 255
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not set(images.patient_ids[images.splits == a]) & set(images.patient_ids[images.splits == b])



def test_a_patient_in_both_official_sets_goes_entirely_to_test(tmp_path):
    root = _dicom_fixture(tmp_path / "cbis")
    calc_columns = [c for c in MASS_COLUMNS if c not in ("mass shape", "mass margins")] + ["calc type", "calc distribution"]
    test_rows = _rows("calc", "test", 1, 0)  # P_00000 has a training mass and a test calcification
    train_rows = _rows("calc", "train", 4, 300)
    for part, rows in (("train", train_rows), ("test", test_rows)):
        _write_csv(root / f"calc_case_description_{part}_set.csv", rows, calc_columns)
        for row in rows:
            _write_dicom(root / row["cropped image file path"], 1500)
    images = load_image_set(CbisDdsmSpec(root=root, image_size=16, abnormality="both"), SplitSpec())
    assert set(images.splits[images.patient_ids == "P_00000"]) == {"test"}
    assert any("moved 1 training image(s) of 1 patient(s)" in note for note in images.notes)


def test_full_images_are_one_per_mammogram(tmp_path):
    images = load_image_set(CbisDdsmSpec(root=_dicom_fixture(tmp_path / "cbis"), image_size=16, image="full"), SplitSpec())
    assert len(images.labels) == 16 and images.images[:, 8, 8, 0].min() == 255


def _jpeg_fixture(root: Path) -> Path:
    """The Kaggle re-export: csv/ (description CSVs + dicom_info.csv) and jpeg/<SeriesInstanceUID>/*.jpg."""
    info = []
    for part, offset in (("train", 0), ("test", 100)):
        rows = _rows("mass", part, 8 if part == "train" else 4, offset)
        _write_csv(root / "csv" / f"mass_case_description_{part}_set.csv", rows)
        for i, row in enumerate(rows):
            uid = row["cropped image file path"].split("/")[2]
            for description, name, value in (("cropped images", "1-1.jpg", 100 + 20 * i), ("ROI mask images", "1-2.jpg", 255)):
                jpg = root / "jpeg" / uid / name
                jpg.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((40, 40), value, dtype=np.uint8)).save(jpg)
                info.append({"file_path": f"CBIS-DDSM/jpeg/{uid}/{name}", "SeriesInstanceUID": uid, "SeriesDescription": description})
    _write_csv(root / "csv" / "dicom_info.csv", info, ["file_path", "SeriesInstanceUID", "SeriesDescription"])
    return root


def test_jpeg_re_export_layout(tmp_path):
    images = load_image_set(CbisDdsmSpec(root=_jpeg_fixture(tmp_path / "kaggle"), image_size=16), SplitSpec())
    assert len(images.labels) == 12
    assert images.images[0, 8, 8, 0] == pytest.approx(100, abs=3)  # the crop, not the all-white mask
    assert images.images[3, 8, 8, 0] == pytest.approx(160, abs=3)


def test_an_unreadable_dicom_names_the_file_and_csv_row(tmp_path):
    root = _dicom_fixture(tmp_path / "cbis")
    broken = root / _rows("mass", "train", 3, 0)[2]["cropped image file path"]
    broken.write_bytes(b"DICM? no")
    with pytest.raises(DataError, match=r"mass_case_description_train_set.csv:4: cannot read DICOM .*000000.dcm"):
        load_image_set(CbisDdsmSpec(root=root), SplitSpec())


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda rows: [{**r, "pathology": "UNKNOWN"} for r in rows], r"train_set.csv:2: unknown pathology 'UNKNOWN'"),
        (lambda rows: [{k: v for k, v in r.items() if k != "pathology"} for r in rows], r"missing column\(s\) 'pathology'"),
    ],
)
def test_bad_description_files_are_named(tmp_path, edit, expected):
    root = _dicom_fixture(tmp_path / "cbis")
    rows = edit(_rows("mass", "train", 12, 0))
    _write_csv(root / "mass_case_description_train_set.csv", rows, [c for c in MASS_COLUMNS if c in rows[0]])
    with pytest.raises(DataError, match=expected):
        load_image_set(CbisDdsmSpec(root=root), SplitSpec())


def test_a_missing_description_file_says_where_it_was_expected(tmp_path):
    root = _dicom_fixture(tmp_path / "cbis")
    with pytest.raises(DataError, match="calc_case_description_train_set.csv"):
        load_image_set(CbisDdsmSpec(root=root, abnormality="calc"), SplitSpec())


def test_a_missing_or_broken_jpeg_names_the_csv_row(tmp_path):
    root = _jpeg_fixture(tmp_path / "kaggle")
    uid = _rows("mass", "train", 2, 0)[1]["cropped image file path"].split("/")[2]
    (root / "jpeg" / uid / "1-1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match=r"mass_case_description_train_set.csv:3: cannot read image .*1-1.jpg"):
        load_image_set(CbisDdsmSpec(root=root), SplitSpec())
    (root / "jpeg" / uid / "1-1.jpg").unlink()
    with pytest.raises(DataError, match=r"mass_case_description_train_set.csv:3: JPEG file not found"):
        load_image_set(CbisDdsmSpec(root=root), SplitSpec())


def test_re_split_without_the_official_split_keeps_patients_together(tmp_path):
    images = load_image_set(CbisDdsmSpec(root=_dicom_fixture(tmp_path / "cbis", n_train=16, n_test=8), image_size=16, keep_official_split=False, validation=0.25, test=0.25), SplitSpec())
    assert set(images.splits) == {"train", "val", "test"}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not set(images.patient_ids[images.splits == a]) & set(images.patient_ids[images.splits == b])
