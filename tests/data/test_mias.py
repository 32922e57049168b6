from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from conftest import MINI_MIAS, unpack
from mammosearch.data import MiasSpec, SplitSpec, load_image_set, parse_info
from mammosearch.data.sources.mias import crop_lesion, load_mias, woman_id
from mammosearch.errors import DataError
from mias_files import HEADER, _fixture


def test_the_crop_is_centred_on_the_lesion_with_y_from_the_bottom(tmp_path):
    root = _fixture(tmp_path / "m", ["mdb001 G CIRC B 60 200 10"], dots={"mdb001": (60, 200)})
    spec = MiasSpec(root=root, image_size=32, margin=1.0, min_crop=33)
    image = np.asarray(Image.open(root / "mdb001.pgm"))[..., None]
    (row,) = parse_info(root / "Info.txt")
    crop = crop_lesion(image, row, spec)
    assert crop.shape == (33, 33, 1)  # side = max(min_crop=33, 2 * radius * margin = 20)
    peak = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    assert abs(peak[0] - 16) <= 1 and abs(peak[1] - 16) <= 1



def test_crops_past_the_image_edge_are_zero_padded(tmp_path):
    root = _fixture(tmp_path / "m", ["mdb001 G CIRC B 2 2 20"], size=64, dots={"mdb001": (2, 2)})
    images, labels, _, _ = unpack(load_mias(MiasSpec(root=root, image_size=64, margin=1.0, min_crop=40)))
    assert images.shape == (1, 64, 64, 1) and labels.tolist() == [0]
    assert images[0, :10, :10].max() == 0  # outside the film: black


def test_labels_patients_several_lesions_and_skipped_rows(tmp_path):
    rows = [
        "mdb001 G CIRC B 100 100 20",
        "mdb002 F NORM",
        "mdb003 D SPIC M 50 60 8",
        "mdb003 D CALC B 150 160 5 ",
        "mdb004 F CALC M *NOTE 3*",
        "mdb005 F CIRC B",
    ]
    root = _fixture(tmp_path / "m", rows)
    images, labels, patients, notes = unpack(load_mias(MiasSpec(root=root, image_size=32)))
    assert labels.tolist() == [0, 1, 0]  # NORM has no crop; mdb003 gives two crops
    assert patients.tolist() == [woman_id(1), woman_id(3), woman_id(3)]
    assert woman_id(1) == woman_id(2) == "mias-woman-001" and woman_id(3) == woman_id(4) != woman_id(5)
    assert notes == ("skipped 2 lesion(s) without coordinates: mdb004, mdb005",)
    centred = unpack(load_mias(MiasSpec(root=root, image_size=32, missing_coordinates="center", center_crop=64)))
    assert len(centred[0]) == 5 and "centre-cropped 2" in centred[3][0]


def test_normal_vs_abnormal_uses_whole_images(tmp_path):
    rows = ["mdb001 G CIRC B 100 100 20", "mdb002 F NORM", "mdb003 D NORM"]
    images, labels, _, _ = unpack(load_mias(MiasSpec(root=_fixture(tmp_path / "m", rows), image_size=48, task="normal_vs_abnormal")))
    assert images.shape == (3, 48, 48, 1) and labels.tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    "rows, missing, expected",
    [
        (["mdb001 G CIRC B 1 2"], set(), r"Info.txt:3: malformed label row 'mdb001 G CIRC B 1 2'"),
        (["mdb001 X CIRC B 1 2 3"], set(), "background 'X'"),
        (["mdb001 G BLOB B 1 2 3"], set(), "class 'BLOB'"),
        (["mdb001 G CIRC Q 1 2 3"], set(), "severity B or M"),
        (["mdb001 G CIRC B 10 10 5", "mdb002 G CIRC M 10 10 5"], {"mdb002"}, r"Info.txt:4: image mdb002 is named here"),
    ],
)
def test_bad_label_files_name_the_file_and_line(tmp_path, rows, missing, expected):
    root = _fixture(tmp_path / "m", rows, missing=missing)
    with pytest.raises(DataError, match=expected):
        load_mias(MiasSpec(root=root))


def test_a_missing_info_file_says_how_to_get_the_data(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"Info.txt.*mammosearch data fetch mini-mias"):
        load_mias(MiasSpec(root=tmp_path / "empty"))


def test_an_unreadable_image_is_named(tmp_path):
    root = _fixture(tmp_path / "m", ["mdb001 G CIRC B 10 10 5"])
    (root / "mdb001.pgm").write_bytes(b"P5 garbage")
    with pytest.raises(DataError, match="mdb001.pgm"):
        load_mias(MiasSpec(root=root))


@pytest.mark.skipif(not MINI_MIAS.is_dir(), reason=f"mini-MIAS not present at {MINI_MIAS} (research-only data, never in the repo)")
@pytest.mark.slow
def test_real_mini_mias_lesion_crops_and_no_woman_in_two_splits():
    images = load_image_set(MiasSpec(root=MINI_MIAS, image_size=32), SplitSpec(validation=0.2, test=0.2, seed=0))
    # 123 B/M abnormality rows (69 B, 54 M), 4 without coordinates (1 B, 3 M) are skipped.
    assert len(images.labels) == 119
    assert int((images.labels == 0).sum()) == 68 and int((images.labels == 1).sum()) == 51
    assert images.notes and "mdb059" in images.notes[0]
    for a in ("train", "val", "test"):
        for b in ("train", "val", "test"):
            if a < b:
                assert not set(images.patient_ids[images.splits == a]) & set(images.patient_ids[images.splits == b])
    assert all(pid.startswith("mias-woman-") for pid in images.patient_ids)


def test_png_files_in_an_images_folder_are_found(tmp_path):
    """The re-encoded layout (Info.txt + images/mdbNNN.png), as in ../shared/datasets/mini-mias."""
    root = tmp_path / "m"
    (root / "images").mkdir(parents=True)
    (root / "Info.txt").write_text(HEADER + "mdb001 G CIRC B 60 200 10\nmdb002 G NORM\n")
    for refnum in ("mdb001", "mdb002"):
        Image.fromarray(np.full((128, 128), 90, dtype=np.uint8)).save(root / "images" / f"{refnum}.png")
    images, labels, patients, _ = unpack(load_mias(MiasSpec(root=root, image_size=16)))
    assert images.shape == (1, 16, 16, 1) and labels.tolist() == [0] and patients.tolist() == ["mias-woman-001"]


def test_the_default_root_is_the_fetch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOSEARCH_DATA", str(tmp_path / "data"))
    _fixture(tmp_path / "data" / "mini-mias", ["mdb001 G CIRC B 60 60 10"])
    images, _, _, _ = unpack(load_mias(MiasSpec(image_size=16)))  # root not given
    assert len(images) == 1
    (tmp_path / "data" / "mini-mias" / "Info.txt").unlink()
    with pytest.raises(DataError, match=r"data[/\\]mini-mias[/\\]Info.txt"):
        load_mias(MiasSpec())


def test_an_unreadable_image_names_the_info_line(tmp_path):
    root = _fixture(tmp_path / "m", ["mdb001 G NORM", "mdb002 G CIRC B 10 10 5"])
    (root / "mdb002.pgm").write_bytes(b"P5 garbage")
    with pytest.raises(DataError, match=r"Info.txt:4: cannot read image .*mdb002.pgm"):
        load_mias(MiasSpec(root=root))


def test_a_missing_image_names_the_info_line(tmp_path):
    root = _fixture(tmp_path / "m", ["mdb001 G NORM", "mdb002 G CIRC B 10 10 5"], missing={"mdb002"})
    with pytest.raises(DataError, match=r"Info.txt:4: image mdb002 is named here but neither mdb002.pgm nor mdb002.png"):
        load_mias(MiasSpec(root=root))


def test_no_woman_is_in_two_splits_on_a_fixture(tmp_path):
    """Both breasts of each woman hold lesions, so an image-level split would leak."""
    rows = [f"mdb{i:03d} G CIRC {'B' if (i + 1) // 2 % 2 else 'M'} 100 100 20" for i in range(1, 41)]
    images = load_image_set(MiasSpec(root=_fixture(tmp_path / "m", rows), image_size=16), SplitSpec(validation=0.25, test=0.25, seed=3))
    assert len(images.labels) == 40 and len(set(images.patient_ids)) == 20
    for woman in set(images.patient_ids):
        assert len(set(images.splits[images.patient_ids == woman])) == 1
    assert set(images.splits) == {"train", "val", "test"}
