"""The phantom generator: shapes, determinism, exact balance, and that the classes are
learnable at low difficulty and not at difficulty 1 (checked without TensorFlow)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mammosearch.data import SyntheticSpec, generate_synthetic
from mammosearch.errors import DataError


def test_shapes_dtypes_and_ids() -> None:
    images, labels, ids = generate_synthetic(SyntheticSpec(n_images=7, image_size=32, images_per_patient=2))
    assert images.shape == (7, 32, 32, 1) and images.dtype == np.uint8
    assert labels.shape == (7,) and labels.dtype == np.int8
    assert set(labels.tolist()) <= {0, 1}
    assert ids.dtype.kind == "U"
    assert ids.tolist() == ["syn0-0001", "syn0-0001", "syn0-0002", "syn0-0002", "syn0-0003", "syn0-0003", "syn0-0004"]


def test_same_seed_same_bytes_other_seed_differs() -> None:
    spec = SyntheticSpec(n_images=150, image_size=48, seed=3)  # > one render chunk
    a = generate_synthetic(spec)
    b = generate_synthetic(spec)
    c = generate_synthetic(SyntheticSpec(n_images=150, image_size=48, seed=4))
    assert a[0].tobytes() == b[0].tobytes()
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert a[0].tobytes() != c[0].tobytes()
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [(400, 0.5, 200), (101, 0.3, 30), (10, 0.25, 3), (9, 0.0, 0), (9, 1.0, 9), (1000, 0.123, 123)],
)
def test_exact_class_balance(n: int, fraction: float, expected: int) -> None:
    _, labels, _ = generate_synthetic(SyntheticSpec(n_images=n, image_size=16, malignant_fraction=fraction))
    assert int(labels.sum()) == expected


def test_patients_are_single_class_except_at_most_one() -> None:
    _, labels, ids = generate_synthetic(SyntheticSpec(n_images=301, image_size=16, images_per_patient=3))
    mixed = [p for p in np.unique(ids) if len(set(labels[ids == p].tolist())) > 1]
    assert len(mixed) <= 1
    assert len(np.unique(ids)) == 101


def test_invalid_spec_names_the_field() -> None:
    with pytest.raises(DataError, match="difficulty"):
        generate_synthetic(SyntheticSpec(difficulty=1.5))
    with pytest.raises(DataError, match="malignant_fraction"):
        generate_synthetic(SyntheticSpec(malignant_fraction=-0.1))


def test_images_use_the_range_and_show_a_bright_lesion_near_the_centre() -> None:
    images, _, _ = generate_synthetic(SyntheticSpec(n_images=100, image_size=64, difficulty=0.0))
    x = images[..., 0].astype(float)
    assert 40 < x.mean() < 200
    assert np.mean((x == 0) | (x == 255)) < 0.01  # not clipped flat
    centre = x[:, 26:38, 26:38].mean(axis=(1, 2))
    border = np.concatenate([x[:, :6].reshape(100, -1), x[:, -6:].reshape(100, -1)], axis=1).mean(axis=1)
    assert np.mean(centre > border) > 0.9


def test_fast_enough() -> None:
    generate_synthetic(SyntheticSpec(n_images=8, image_size=64))  # warm-up (imports, FFT plans)
    start = time.perf_counter()
    generate_synthetic(SyntheticSpec(n_images=400, image_size=64))
    assert time.perf_counter() - start < 2.0  # ~0.25 s here; generous for slow CI


def _lesion_features(images: np.ndarray) -> np.ndarray:
    """Hand-made, class-agnostic features: radial and tangential gradient energy and mean
    brightness in three rings around the brightest blob. A circumscribed mass puts its
    gradient energy in a thin radial ring; spicules add tangential energy further out."""
    x = images[..., 0].astype(np.float64) / 255.0
    n, s, _ = x.shape
    k = s // 8
    padded = np.pad(x, ((0, 0), (k, k), (k, k)), mode="edge").cumsum(1).cumsum(2)
    box = (padded[:, 2 * k :, 2 * k :] - padded[:, : -2 * k, 2 * k :] - padded[:, 2 * k :, : -2 * k]
           + padded[:, : -2 * k, : -2 * k])[:, :s, :s]
    inner = np.zeros((s, s), bool)
    inner[s // 4 : 3 * s // 4, s // 4 : 3 * s // 4] = True
    cy, cx = np.unravel_index(np.where(inner, box, -np.inf).reshape(n, -1).argmax(1), (s, s))
    yy, xx = np.mgrid[:s, :s]
    dy, dx = yy[None] - cy[:, None, None], xx[None] - cx[:, None, None]
    rho = np.hypot(dx, dy) + 1e-6
    gy, gx = np.gradient(x, axis=(1, 2))
    radial, tangential = (gx * dx + gy * dy) / rho, (gy * dx - gx * dy) / rho
    features = []
    for lo, hi in [(0.0, 0.12), (0.12, 0.25), (0.25, 0.4)]:
        ring = (rho >= lo * s) & (rho < hi * s)
        count = ring.sum((1, 2))
        features += [
            np.log((radial**2 * ring).sum((1, 2)) / count + 1e-9),
            np.log((tangential**2 * ring).sum((1, 2)) / count + 1e-9),
            (x * ring).sum((1, 2)) / count,
        ]
    return np.stack(features, axis=1)


def _feature_auc(difficulty: float) -> float:
    """Fit on one seed, score on another: new patients, new phantoms."""
    train_x, train_y, _ = generate_synthetic(SyntheticSpec(n_images=400, difficulty=difficulty, seed=0))
    test_x, test_y, _ = generate_synthetic(SyntheticSpec(n_images=400, difficulty=difficulty, seed=1))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(_lesion_features(train_x), train_y)
    return float(roc_auc_score(test_y, model.predict_proba(_lesion_features(test_x))[:, 1]))


@pytest.mark.slow
def test_learnable_when_easy_and_not_when_difficulty_is_one() -> None:
    easy = _feature_auc(0.3)
    impossible = _feature_auc(1.0)
    assert easy > 0.75, easy
    assert impossible < 0.65, impossible
    assert easy - impossible > 0.2
