"""``source: synthetic``: seeded mammogram-like phantoms (the renderer is ``data/phantoms.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mammosearch.data._spec_fields import integer, key, number, read_spec, spec_keys
from mammosearch.data.base import Loaded, Provenance, Source
from mammosearch.data.phantoms import generate_synthetic
from mammosearch.data.task import Task
from mammosearch.spec import Fields


@dataclass(frozen=True)
class SyntheticSpec:
    """Seeded mammogram-like phantoms: benign round masses vs malignant spiculated ones."""

    n_images: int = key(400, integer(8, 1_000_000))
    image_size: int = key(64, integer(16, 1024))
    malignant_fraction: float = key(0.5, number(0.05, 0.95))
    difficulty: float = key(0.5, number(0.0, 1.0))  # 0 = obvious, 1 = nearly indistinguishable
    images_per_patient: int = key(2, integer(1, 16))  # like left/right views of one woman
    seed: int = key(0, integer(0))
    source: Literal["synthetic"] = "synthetic"


def read(fields: Fields, raw: dict[str, Any]) -> SyntheticSpec:
    return read_spec(SyntheticSpec, fields, raw)


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
    keys=spec_keys(SyntheticSpec),
    read=read,
    load=load,
    describe=describe,
)
