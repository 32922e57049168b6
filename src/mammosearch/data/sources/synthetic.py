"""``source: synthetic``: seeded mammogram-like phantoms (the renderer is ``data/phantoms.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mammosearch.data.base import Loaded, Provenance, Source
from mammosearch.data.phantoms import generate_synthetic
from mammosearch.data.task import Task
from mammosearch.spec.fields import Fields


@dataclass(frozen=True)
class SyntheticSpec:
    """Seeded mammogram-like phantoms: benign round masses vs malignant spiculated ones."""

    n_images: int = 400
    image_size: int = 64
    malignant_fraction: float = 0.5
    difficulty: float = 0.5  # 0 = obvious, 1 = nearly indistinguishable
    images_per_patient: int = 2  # like left/right views of one woman
    seed: int = 0
    source: Literal["synthetic"] = "synthetic"


def read(fields: Fields, raw: dict[str, Any]) -> SyntheticSpec:
    d = SyntheticSpec()
    return SyntheticSpec(
        n_images=fields.integer(raw.get("n_images", d.n_images), "data.n_images", 8, 1_000_000),
        image_size=fields.integer(raw.get("image_size", d.image_size), "data.image_size", 16, 1024),
        malignant_fraction=fields.number(raw.get("malignant_fraction", d.malignant_fraction), "data.malignant_fraction", 0.05, 0.95),
        difficulty=fields.number(raw.get("difficulty", d.difficulty), "data.difficulty", 0.0, 1.0),
        images_per_patient=fields.integer(raw.get("images_per_patient", d.images_per_patient), "data.images_per_patient", 1, 16),
        seed=fields.integer(raw.get("seed", d.seed), "data.seed", 0),
    )


def describe(spec: SyntheticSpec, data: Loaded) -> str:
    return (
        f"synthetic phantoms: {len(data.images)} images, {int(data.labels.sum())} malignant, "
        f"{len(np.unique(data.patient_ids))} patients, {data.images.shape[1]} px, "
        f"difficulty {spec.difficulty:g}, seed {spec.seed}"
    )


def load(spec: SyntheticSpec) -> Loaded:
    images, labels, patients = generate_synthetic(spec)
    sources = [f"synthetic:seed{spec.seed}:{i}" for i in range(len(images))]
    return Loaded(images, labels, patients, Provenance.generated(sources, spec.image_size))


SOURCE = Source(
    task=lambda spec: Task("benign_vs_malignant", "benign", "malignant", "synthetic phantom"),
    name="synthetic",
    keys=("n_images", "image_size", "malignant_fraction", "difficulty", "images_per_patient", "seed"),
    read=read,
    load=load,
    describe=describe,
)
