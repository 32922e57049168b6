from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mammosearch.data import CsvSpec, SplitSpec, load_image_set
from mammosearch.errors import DataError


def _manifest(root: Path, rows: list[str], header: str = "path,label,patient_id,split", missing: set[str] = frozenset()) -> Path:
    (root / "img").mkdir(parents=True, exist_ok=True)
    for row in rows:
        name = row.split(",")[0]
        if name not in missing:
            Image.fromarray(np.full((20, 30), len(name) * 7 % 255, dtype=np.uint8)).save(root / name)
    path = root / "manifest.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_given_splits_and_labels_are_used(tmp_path):
    rows = [f"img/{i}.png,{'malignant' if i % 2 else 'Benign'},p{i // 2},{'train' if i < 6 else 'validation' if i < 8 else 'test'}" for i in range(10)]
    images = load_image_set(CsvSpec(path=_manifest(tmp_path, rows), image_size=16), SplitSpec())
    assert images.images.shape == (10, 16, 16, 1)
    assert images.labels.tolist() == [0, 1] * 5
    assert images.splits.tolist() == ["train"] * 6 + ["val"] * 2 + ["test"] * 2
    assert "splits from the manifest" in images.description


def test_without_split_column_the_patient_split_is_assigned(tmp_path):
    rows = [f"img/{i}.png,{i % 2},p{i // 2}" for i in range(24)]
    images = load_image_set(CsvSpec(path=_manifest(tmp_path, rows, header="path,label,patient_id"), image_size=16), SplitSpec(validation=0.25))
    for patient in set(images.patient_ids):
        assert len(set(images.splits[images.patient_ids == patient])) == 1


def test_a_manifest_whose_splits_share_a_patient_is_refused_listing_the_ids(tmp_path):
    rows = ["img/a.png,0,p1,train", "img/b.png,1,p1,test", "img/c.png,1,p2,train", "img/d.png,0,p3,val"]
    with pytest.raises(DataError, match=r"p1 \(test/train\)"):
        load_image_set(CsvSpec(path=_manifest(tmp_path, rows)), SplitSpec())


@pytest.mark.parametrize(
    "header, rows, missing, expected",
    [
        ("file,label", ["img/a.png,0"], set(), r"manifest.csv: missing column\(s\) path"),
        ("path,label", ["img/a.png,maybe"], set(), r"manifest.csv:2: unknown label 'maybe'"),
        ("path,label", ["img/a.png,0", "img/b.png,1"], {"img/b.png"}, r"manifest.csv:3: image 'img/b.png' not found"),
        ("path,label,split", ["img/a.png,0,holdout"], set(), r"manifest.csv:2: unknown split 'holdout'"),
    ],
)
def test_bad_manifests_name_the_file_row_and_value(tmp_path, header, rows, missing, expected):
    with pytest.raises(DataError, match=expected):
        load_image_set(CsvSpec(path=_manifest(tmp_path, rows, header=header, missing=missing)), SplitSpec())


def test_a_label_mapping_adds_spellings(tmp_path):
    rows = [f"img/{i}.png,{'M' if i % 2 else 'b'},p{i}" for i in range(8)]
    path = _manifest(tmp_path, rows, header="path,label,patient_id")
    with pytest.raises(DataError, match=r"manifest.csv:2: unknown label 'b' \(accepted: 0, 1, benign, malignant"):
        load_image_set(CsvSpec(path=path), SplitSpec(validation=0.25))
    images = load_image_set(CsvSpec(path=path, image_size=16, labels=(("b", 0), ("m", 1))), SplitSpec(validation=0.25))
    assert images.labels.tolist() == [0, 1] * 4


def test_without_patient_ids_each_image_is_its_own_patient_and_a_note_says_so(tmp_path):
    rows = [f"img/{i}.png,{i % 2}" for i in range(8)]
    images = load_image_set(CsvSpec(path=_manifest(tmp_path, rows, header="path,label"), image_size=16), SplitSpec(validation=0.25))
    assert len(set(images.patient_ids)) == 8 and "no patient_id column" in images.notes[0]
