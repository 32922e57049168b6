"""``load_image_set``: dispatch by source, splits, leakage check, description."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mammosearch.data import SOURCES as LOADERS
from mammosearch.data import FolderSpec, SplitSpec, SyntheticSpec, load_image_set, loading
from mammosearch.errors import DataError


def test_synthetic_image_set() -> None:
    spec = SyntheticSpec(n_images=200, image_size=32, difficulty=0.5, seed=0)
    image_set = load_image_set(spec, SplitSpec(validation=0.2, test=0.1, seed=0))
    assert image_set.images.shape == (200, 32, 32, 1)
    assert image_set.channels == 1 and image_set.image_size == 32
    assert image_set.description == (
        "synthetic phantoms: 200 images, 100 malignant, 100 patients, 32 px, difficulty 0.5, seed 0"
    )
    for split in ("train", "val", "test"):
        part = image_set.subset(split)
        assert set(part.labels.tolist()) == {0, 1}
    assert not set(image_set.subset("train").patient_ids) & set(image_set.subset("val").patient_ids)


def test_folder_image_set(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for class_name, count in (("benign", 3), ("malignant", 2)):
        (tmp_path / class_name).mkdir()
        for i in range(count):
            Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).save(tmp_path / class_name / f"{i}.png")
    image_set = load_image_set(FolderSpec(root=tmp_path, image_size=16), SplitSpec(validation=0.3))
    assert image_set.images.shape == (5, 16, 16, 1)
    assert image_set.description == (
        f"folder {tmp_path}: 5 images (3 benign, 2 malignant), 5 patients, 16 px grayscale"
    )
    assert set(image_set.splits.tolist()) == {"train", "val"}


def test_leakage_check_runs_on_whatever_the_splitter_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    def split_by_image(labels: np.ndarray, patient_ids: np.ndarray, spec: SplitSpec) -> np.ndarray:
        return np.where(np.arange(len(labels)) % 2 == 0, "train", "val")

    monkeypatch.setattr(loading, "assign_splits", split_by_image)
    with pytest.raises(DataError, match="patient leakage.*syn0-0001 \\(train/val\\)"):
        load_image_set(SyntheticSpec(n_images=20, image_size=16), SplitSpec())


def test_registry_covers_every_spec_type_and_rejects_unknown_sources() -> None:
    assert {"synthetic", "folder", "mias", "csv"} <= set(LOADERS)

    @dataclass(frozen=True)
    class KaggleSpec:
        source: str = "kaggle"

    with pytest.raises(ValueError, match="no loader for data source 'kaggle'.*csv, folder, mias, synthetic"):
        load_image_set(KaggleSpec(), SplitSpec())  # type: ignore[arg-type]


def test_too_few_patients_surface_as_data_error() -> None:
    with pytest.raises(DataError, match="too few patients"):
        load_image_set(SyntheticSpec(n_images=4, image_size=16, images_per_patient=2), SplitSpec())
