"""Search-space parameter specs and the parameters one trial trains with.

A tunable key in a YAML space is written one of three ways and becomes one spec:

* a scalar (``batch_size: 32``)                 -> :class:`Fixed` (not sampled at all)
* a list (``optimizer: [adam, sgd]``)             -> :class:`Categorical`
* a mapping (``learning_rate: {low: 1e-4, high: 1e-2, log: true}``)
                                                   -> :class:`IntRange` / :class:`FloatRange`

:class:`TrialParams` is what ``sampling.py`` turns an Optuna trial into and what the
model builders and training code take; it is stored with the trial as JSON so a model
can be rebuilt or described without Optuna.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, Union

Scalar = Union[int, float, str, bool]


@dataclass(frozen=True)
class Fixed:
    value: Scalar


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Scalar, ...]


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    step: int = 1
    log: bool = False


@dataclass(frozen=True)
class FloatRange:
    low: float
    high: float
    log: bool = False
    step: float | None = None


ParamSpec = Union[Fixed, Categorical, IntRange, FloatRange]

Family = Literal["cnn", "vgg16", "resnet50"]
HeadKind = Literal["dense_bn_dropout", "gap_dropout"]
FAMILIES: tuple[str, ...] = ("cnn", "vgg16", "resnet50")
TRANSFER_FAMILIES: tuple[str, ...] = ("vgg16", "resnet50")
HEADS: tuple[str, ...] = ("dense_bn_dropout", "gap_dropout")
OPTIMIZERS: tuple[str, ...] = ("adam", "sgd", "rmsprop", "adamw")


@dataclass(frozen=True)
class CnnParams:
    """The seed study's network: 3 x (Conv2D + MaxPool), Flatten, Dense, Dropout, Dense(1)."""

    filters: int  # first block; doubled in each following block
    kernel_size: int
    dense_units: int
    dropout: float


@dataclass(frozen=True)
class HeadParams:
    kind: str  # one of HEADS
    dropout: float
    dense_units: int | None = None  # only for dense_bn_dropout


@dataclass(frozen=True)
class AugmentationParams:
    flip: bool = False
    rotation: float = 0.0  # fraction of a full turn, as keras.layers.RandomRotation
    zoom: float = 0.0
    contrast: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.flip or self.rotation > 0 or self.zoom > 0 or self.contrast > 0


@dataclass(frozen=True)
class TrialParams:
    """Everything one trial needs to build and train its model."""

    family: str
    input_size: int
    optimizer: str
    learning_rate: float
    batch_size: int
    epochs: int
    augmentation: AugmentationParams
    class_weights: bool = True
    weights: str | None = None  # "imagenet", None, or a weights file path (transfer only)
    cnn: CnnParams | None = None
    head: HeadParams | None = None
    fine_tune: bool = False
    unfrozen_layers: int = 0
    fine_tune_learning_rate: float | None = None
    fine_tune_epochs: int = 0
    seed: int = 0  # head initialisation, dropout and batch order: the same model from the same seed

    @property
    def is_transfer(self) -> bool:
        return self.family in TRANSFER_FAMILIES

    @property
    def total_epochs(self) -> int:
        return self.epochs + (self.fine_tune_epochs if self.fine_tune else 0)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrialParams":
        raw: dict[str, Any] = json.loads(text)
        raw["augmentation"] = AugmentationParams(**raw["augmentation"])
        if raw.get("cnn") is not None:
            raw["cnn"] = CnnParams(**raw["cnn"])
        if raw.get("head") is not None:
            raw["head"] = HeadParams(**raw["head"])
        return cls(**raw)
