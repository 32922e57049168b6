"""Reading real image files (every supported format, 16-bit, alpha, palette, corrupt) and
the ``root/<class>/`` folder loader with its error messages."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import unpack
from mammosearch.data import FolderSpec, load_folder
from mammosearch.data.decode import read_image, resize_images, to_square
from mammosearch.errors import DataError

GRADIENT = np.tile(np.arange(0, 240, 8, dtype=np.uint8), (20, 1))  # 20 x 30, 0..232


def _save(path: Path, array: np.ndarray, **kwargs: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


# --------------------------------------------------------------------------- read_image


@pytest.mark.parametrize("name", ["g.png", "g.pgm", "g.tif", "g.tiff", "G.PNG"])
def test_lossless_formats_round_trip(tmp_path: Path, name: str) -> None:
    image = read_image(_save(tmp_path / name, GRADIENT), "grayscale")
    assert image.dtype == np.uint8 and image.shape == (20, 30, 1)
    assert np.array_equal(image[:, :, 0], GRADIENT)


@pytest.mark.parametrize("name", ["g.jpg", "g.jpeg"])
def test_jpeg_is_read_approximately(tmp_path: Path, name: str) -> None:
    image = read_image(_save(tmp_path / name, GRADIENT, quality=95), "grayscale")
    assert image.shape == (20, 30, 1)
    assert np.abs(image[:, :, 0].astype(int) - GRADIENT).max() <= 8


def test_16_bit_png_is_stretched_to_8_bit(tmp_path: Path) -> None:
    wide = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 6 + 1000)  # a 12-bit-like range
    path = _save(tmp_path / "w.png", wide)
    assert Image.open(path).mode.startswith("I")  # really stored as 16-bit
    image = read_image(path, "grayscale")[:, :, 0]
    assert image.dtype == np.uint8
    assert image.min() == 0 and image.max() == 255
    assert np.all(np.diff(image.ravel().astype(int)) >= 0)  # order preserved
    assert abs(int(image[10, 15]) - round((wide[10, 15] - 1000) / (wide.max() - 1000) * 255)) <= 1


def test_16_bit_constant_image_is_black_not_an_error(tmp_path: Path) -> None:
    path = _save(tmp_path / "flat.png", np.full((5, 5), 4000, dtype=np.uint16))
    assert read_image(path, "grayscale").max() == 0


def test_rgba_drops_alpha(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 200, 100, 50, 0  # fully transparent
    path = _save(tmp_path / "a.png", rgba)
    rgb = read_image(path, "rgb")
    assert rgb.shape == (4, 4, 3) and rgb[0, 0].tolist() == [200, 100, 50]
    gray = read_image(path, "grayscale")
    assert gray.shape == (4, 4, 1) and 110 < int(gray[0, 0, 0]) < 140  # luma of the colour


def test_palette_with_transparency_and_bilevel(tmp_path: Path) -> None:
    palette = Image.fromarray(GRADIENT).convert("P")
    path = tmp_path / "p.png"
    palette.save(path, transparency=0)
    assert Image.open(path).mode == "P"
    image = read_image(path, "grayscale")
    assert image.shape == (20, 30, 1)
    assert np.abs(image[:, :, 0].astype(int) - GRADIENT).max() <= 8
    bilevel = tmp_path / "b.png"
    Image.fromarray(GRADIENT > 100).save(bilevel)
    assert set(np.unique(read_image(bilevel, "grayscale")).tolist()) == {0, 255}


def test_grayscale_as_rgb_repeats_the_channel(tmp_path: Path) -> None:
    image = read_image(_save(tmp_path / "g.png", GRADIENT), "rgb")
    assert image.shape == (20, 30, 3)
    assert np.array_equal(image[..., 0], image[..., 2])


@pytest.mark.parametrize("kind", ["random", "truncated", "empty"])
def test_corrupt_files_raise_data_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.png"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(2000))
    elif kind == "truncated":
        _save(tmp_path / "ok.png", np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
        data = (tmp_path / "ok.png").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(b"")
    with pytest.raises(DataError, match=r"^cannot read image .*" + kind + r"\.png: \S"):
        read_image(path, "grayscale")


# --------------------------------------------------------------------------- resizing


def test_resize_images_shape_dtype_and_identity() -> None:
    images = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 1), dtype=np.uint8)
    assert resize_images(images, 40) is images
    small = resize_images(images, 16)
    assert small.shape == (3, 16, 16, 1) and small.dtype == np.uint8
    flat = np.full((2, 50, 50, 3), 77, dtype=np.uint8)
    assert np.all(resize_images(flat, 20) == 77)


def test_downsizing_averages_instead_of_aliasing() -> None:
    checker = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)[None, :, :, None]
    small = resize_images(checker, 16)
    assert np.all(np.abs(small.astype(int) - 128) <= 20)  # point sampling would give 0/255


def test_to_square_stretches_non_square_images() -> None:
    tall = np.zeros((100, 40, 1), dtype=np.uint8)
    tall[:50] = 255  # top half white
    square = to_square(tall, 32)
    assert square.shape == (32, 32, 1)
    assert square[:14].min() == 255 and square[18:].max() == 0  # top half still the top half


# --------------------------------------------------------------------------- load_folder


def _make_tree(root: Path) -> None:
    rng = np.random.default_rng(0)

    def img() -> np.ndarray:
        return rng.integers(0, 256, (24, 30), dtype=np.uint8)

    _save(root / "benign" / "P002_R.png", img())
    _save(root / "benign" / "P001_L.JPG", img())
    _save(root / "benign" / "P001_R.pgm", img())
    _save(root / "malignant" / "P003_L.tif", img())
    _save(root / "malignant" / "P004_R.jpeg", img())
    _save(root / "malignant" / "P005_L.TIFF", img())
    (root / "benign" / "notes.txt").write_text("not an image")
    (root / "malignant" / ".DS_Store").write_bytes(b"\0\1")
    (root / "other").mkdir()


def test_load_folder_reads_all_formats_sorted_and_labelled(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    images, labels, ids, _ = unpack(load_folder(FolderSpec(root=tmp_path, image_size=16)))
    assert images.shape == (6, 16, 16, 1) and images.dtype == np.uint8
    assert labels.dtype == np.int8 and labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert ids.tolist() == [
        "benign/P001_L.JPG",
        "benign/P001_R.pgm",
        "benign/P002_R.png",
        "malignant/P003_L.tif",
        "malignant/P004_R.jpeg",
        "malignant/P005_L.TIFF",
    ]


def test_load_folder_rgb_and_custom_class_names(tmp_path: Path) -> None:
    _save(tmp_path / "b" / "x.png", GRADIENT)
    _save(tmp_path / "m" / "y.png", GRADIENT)
    images, labels, _, _ = unpack(load_folder(FolderSpec(root=tmp_path, image_size=8, classes=("m", "b"), color="rgb")))
    assert images.shape == (2, 8, 8, 3)
    assert labels.tolist() == [0, 1]  # classes[0] = "m" is label 0 whatever its name


def test_patient_regex_group_and_whole_match(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    _, _, ids, _ = unpack(load_folder(FolderSpec(root=tmp_path, image_size=8, patient_regex=r"P(\d+)_")))
    assert ids.tolist() == ["001", "001", "002", "003", "004", "005"]
    _, _, ids, _ = unpack(load_folder(FolderSpec(root=tmp_path, image_size=8, patient_regex=r"P\d+")))
    assert ids.tolist() == ["P001", "P001", "P002", "P003", "P004", "P005"]


def test_file_not_matching_the_regex_is_named(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    _save(tmp_path / "malignant" / "scan7.png", GRADIENT)
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "malignant" / "scan7.png")) + r".*'P\(\\d\+\)_'"):
        load_folder(FolderSpec(root=tmp_path, patient_regex=r"P(\d+)_"))


def test_invalid_regex(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    with pytest.raises(DataError, match="patient_regex"):
        load_folder(FolderSpec(root=tmp_path, patient_regex="P(\\d+"))


def test_missing_root_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match=re.escape(f"data folder {missing} does not exist")):
        load_folder(FolderSpec(root=missing))
    a_file = tmp_path / "file.png"
    a_file.write_bytes(b"x")
    with pytest.raises(DataError, match="is not a folder"):
        load_folder(FolderSpec(root=a_file))


def test_missing_class_folder_lists_what_exists(tmp_path: Path) -> None:
    _save(tmp_path / "Benign" / "a.png", GRADIENT)
    _save(tmp_path / "cancer" / "b.png", GRADIENT)
    with pytest.raises(DataError) as info:
        load_folder(FolderSpec(root=tmp_path))
    message = str(info.value)
    assert str(tmp_path / "benign") in message
    assert "Benign, cancer" in message and "data.classes" in message
    assert "\n" not in message


def test_class_folder_without_images_is_named(tmp_path: Path) -> None:
    _save(tmp_path / "benign" / "a.png", GRADIENT)
    (tmp_path / "malignant").mkdir()
    (tmp_path / "malignant" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=re.escape(f"class folder {tmp_path / 'malignant'} has no images")):
        load_folder(FolderSpec(root=tmp_path))
    _save(tmp_path / "malignant" / "nested" / "c.png", GRADIENT)
    with pytest.raises(DataError, match="sub-folders are not searched: nested"):
        load_folder(FolderSpec(root=tmp_path))


def test_unreadable_image_in_folder_is_named(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    bad = tmp_path / "malignant" / "P009_L.png"
    bad.write_bytes(np.random.default_rng(1).bytes(300))
    with pytest.raises(DataError, match=re.escape(f"cannot read image {bad}:")):
        load_folder(FolderSpec(root=tmp_path))
