"""Crop to the breast and one orientation (data/decode/_breast.py, data/decode/_orientation.py, data/decode/_framing.py).

Phantoms (breast_phantoms.py): a breast is a bright half-disc against the chest wall on a dark,
grainy background, with a film label (a bright square) and a film edge (a bright strip)
that are not the breast. mini-MIAS, where present, checks the same on 322 real films.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset

from breast_phantoms import phantom
from conftest import MINI_MIAS
from dicom_files import write_dicom
from mammosearch.data import Decoded
from mammosearch.data.decode import (
    Framing,
    breast_box,
    chest_wall_from_image,
    crop_box,
    decode_file,
    fit,
    frame,
    framed_and_fitted,
    to_chest_wall_left,
    to_square,
)
from mammosearch.data.dicom import laterality_from_dataset, laterality_of_file
from mammosearch.data.pixels import photometry_score


def test_the_box_is_the_breast_not_the_label_or_the_film_edge():
    box = breast_box(phantom())
    assert box is not None
    assert abs(box.top - 60) <= 4 and abs(box.bottom - 341) <= 4  # the half-disc's rows
    assert box.left == 0 and abs(box.right - 200) <= 4  # from the chest wall to the nipple, not to the label at 250+
    assert crop_box(phantom(), box).shape == (box.height, box.width, 1)


def test_an_inverted_file_is_cropped_as_its_flipped_twin():
    image = phantom()
    assert breast_box(255 - image, bright_background=True) == breast_box(image)


def test_no_breast_in_a_blank_or_tiny_image():
    assert breast_box(np.zeros((200, 200, 1), np.uint8)) is None
    speck = np.zeros((200, 200, 1), np.uint8)
    speck[10:20, 10:20] = 200  # 0.25 % of the image: a marker, not a breast
    assert breast_box(speck) is None


def test_the_chest_wall_side_from_the_image_and_the_turn():
    assert chest_wall_from_image(phantom(chest_wall="left")) == "left"
    assert chest_wall_from_image(phantom(chest_wall="right")) == "right"
    turned = to_chest_wall_left(phantom(chest_wall="right"), "right")
    assert np.array_equal(turned, phantom(chest_wall="left"))
    assert to_chest_wall_left(phantom(), "left") is not None and np.array_equal(to_chest_wall_left(phantom(), "left"), phantom())
    assert chest_wall_from_image(np.zeros((64, 64, 1), np.uint8)) is None


def test_laterality_from_the_dicom_tags():
    ds = Dataset()
    assert laterality_from_dataset(ds) is None
    ds.Laterality = "R"  # the series-level tag, when the image-level one is absent
    assert laterality_from_dataset(ds) == "R"
    ds.ImageLaterality = "L"  # the image's own tag wins
    assert laterality_from_dataset(ds) == "L"
    ds.ImageLaterality = "B"  # both breasts (not a mammogram view): no side
    assert laterality_from_dataset(ds) == "R"
    del ds.Laterality
    assert laterality_from_dataset(ds) is None


def test_a_dicom_file_states_its_side_and_is_turned_by_it(tmp_path: Path):
    # The pixels say "chest wall left", the tag says a right breast: the tag is trusted.
    stored = phantom(chest_wall="left")[:, :, 0].astype(np.uint16) * 16
    path = write_dicom(tmp_path / "r.dcm", stored, bits_stored=12, laterality="R")
    assert laterality_of_file(path) == "R"
    decoded = decode_file(path, "grayscale")
    assert decoded.laterality == "R"
    framed = frame(decoded, Framing(crop=False, orient=True))
    assert (framed.chest_wall, framed.chest_wall_from) == ("right", "dicom")
    assert np.array_equal(framed.pixels, decoded.pixels[:, ::-1])
    untagged = decode_file(write_dicom(tmp_path / "u.dcm", stored, bits_stored=12), "grayscale")
    assert untagged.laterality is None
    assert (frame(untagged, Framing(orient=True)).chest_wall_from) == "image"


def test_frame_crops_turns_and_fit_pads_at_the_right_and_bottom():
    image = phantom(chest_wall="right")
    decoded = Decoded(image, 8, photometry=photometry_score(image))
    framed = frame(decoded, Framing(crop=True, orient=True, margin=0.0))
    assert (framed.crop, framed.chest_wall, framed.chest_wall_from) == ("breast", "right", "image")
    assert framed.pixels.shape[0] > framed.pixels.shape[1]  # a tall box: the half-disc is 281 x 200
    assert framed.pixels[:, :5].mean() > 60  # the chest wall now on the left edge
    fitted = fit(framed.pixels, (64, 64), keep_aspect=True)
    assert fitted.shape == (64, 64, 1)
    assert not fitted[:, -10:].any() and fitted[:, :30].any()  # padded black on the right, the breast from the left edge
    # A square without crop is stretched exactly as to_square always did.
    assert np.array_equal(fit(image, (50, 50), keep_aspect=False), to_square(image, 50))
    assert np.array_equal(framed_and_fitted(decoded, Framing(), (50, 50)).pixels, to_square(image, 50))


def test_no_breast_found_is_kept_whole_and_said():
    blank = np.zeros((80, 60, 1), np.uint8)
    framed = frame(Decoded(blank, 8, photometry=photometry_score(blank)), Framing(crop=True, orient=True))
    assert framed.crop == "none_found" and framed.chest_wall == "" and framed.pixels.shape == blank.shape


needs_mias = pytest.mark.skipif(not (MINI_MIAS / "Info.txt").is_file(), reason=f"mini-MIAS not found at {MINI_MIAS} (the shared data folder is absent)")


@needs_mias
@pytest.mark.slow
def test_mini_mias_every_lesion_inside_the_crop_and_the_side_right_on_320_of_322():
    lesions: dict[str, list[tuple[int, int]]] = {}
    for line in (MINI_MIAS / "Info.txt").read_text(encoding="latin-1").splitlines():
        fields = line.split()
        if re.match(r"^mdb\d{3}$", fields[0] if fields else "") and len(fields) >= 7 and fields[4].isdigit():
            lesions.setdefault(fields[0], []).append((1023 - int(fields[5]), int(fields[4])))  # (row, col); Y from the bottom
    wrong_side = []
    for number in range(1, 323):
        image = np.asarray(Image.open(MINI_MIAS / "images" / f"mdb{number:03d}.png"))[:, :, None]
        box = breast_box(image)
        assert box is not None, f"mdb{number:03d}: no breast found"
        for row, col in lesions.get(f"mdb{number:03d}", []):
            assert box.top <= row < box.bottom and box.left <= col < box.right, f"mdb{number:03d}: lesion at {(row, col)} outside {box}"
        if chest_wall_from_image(image) != ("right" if number % 2 else "left"):  # odd films: chest wall right (SOURCE.md)
            wrong_side.append(number)
    assert wrong_side == [151, 152]  # breasts filling the whole film: no side tapers
