"""Search-space parameter specs, and the parameters one trial trains with.

A tunable key in a YAML space is written one of three ways and becomes one spec:

* a scalar (``batch_size: 32``)                 -> :class:`Fixed` (not sampled at all)
* a list (``optimizer: [adam, sgd]``)             -> :class:`Categorical`
* a mapping (``learning_rate: {low: 1e-4, high: 1e-2, log: true}``)
                                                   -> :class:`IntRange` / :class:`FloatRange`

Each spec owns its behaviour, as KerasTuner's ``hp_types`` do: its bounds
(``smallest``/``largest``/``can_be``), its validation (``__post_init__``), how an Optuna
trial samples it (``suggest``), and its KerasTuner and Optuna-distribution translations.
Nothing else tests spec types with ``isinstance``.

:class:`TrialParams` is what sampling turns a trial into and what the model builders and
training code take; it is stored with the trial as JSON so a model can be rebuilt or
described without Optuna.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from mammosearch.spec.fields import show  # messages show a short prefix of a value, never all of it
from mammosearch.spec.size import ImageSize

Scalar = int | float | str | bool


class Suggester(Protocol):
    """What sampling needs from an Optuna trial (``Trial`` and ``FixedTrial`` both fit)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...
    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float: ...


@dataclass(frozen=True)
class Fixed:
    """One value: not a search dimension, never suggested."""

    value: Scalar

    def suggest(self, trial: Suggester, name: str) -> Any:
        return self.value

    def smallest(self) -> float:
        return float(self.value)

    def largest(self) -> float:
        return float(self.value)

    def can_be(self, value: Scalar) -> bool:
        return bool(self.value == value)

    def options(self) -> tuple[Scalar, ...] | None:
        """Every value it can take (None for a range)."""
        return (self.value,)

    def kerastuner(self, hp: Any, name: str) -> Any:
        return self.value

    def distribution(self) -> Any:
        return None

    def describe(self) -> str:
        """Short and exact, as a study records its space: ``0.001``, ``["a", "b"]``, ``float 0.0001..0.003 log``."""
        return json.dumps(self.value)


@dataclass(frozen=True)
class Categorical:
    choices: tuple[Scalar, ...]

    def __post_init__(self) -> None:
        if not self.choices or len(set(self.choices)) != len(self.choices):
            raise ValueError(f"`choices` must hold distinct values, at least one, but got {show(list(self.choices))}.")

    def suggest(self, trial: Suggester, name: str) -> Any:
        return trial.suggest_categorical(name, list(self.choices))

    def smallest(self) -> float:
        return float(min(float(c) for c in self.choices))

    def largest(self) -> float:
        return float(max(float(c) for c in self.choices))

    def can_be(self, value: Scalar) -> bool:
        return value in self.choices

    def options(self) -> tuple[Scalar, ...] | None:
        return self.choices

    def kerastuner(self, hp: Any, name: str) -> Any:
        return hp.Choice(name, list(self.choices))

    def distribution(self) -> Any:
        import optuna

        return optuna.distributions.CategoricalDistribution(list(self.choices))

    def describe(self) -> str:
        return json.dumps(list(self.choices))


class _Bounded:
    """What the two ranges share: their bounds (``low`` and ``high`` are the dataclasses' fields)."""

    KIND: ClassVar[str]
    low: float
    high: float
    step: float | None
    log: bool

    def smallest(self) -> float:
        return float(self.low)

    def largest(self) -> float:
        return float(self.high)

    def can_be(self, value: Scalar) -> bool:
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def options(self) -> tuple[Scalar, ...] | None:
        return None

    def describe(self) -> str:
        text = f"{self.KIND} {self.low!r}..{self.high!r}" + (f" step {self.step!r}" if self.step not in (None, 1) else "")
        return text + (" log" if self.log else "")


@dataclass(frozen=True)
class IntRange(_Bounded):
    KIND: ClassVar[str] = "int"
    low: int
    high: int
    step: int = 1
    log: bool = False

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"`low <= high` must hold, but got low={self.low}, high={self.high}")
        if self.log and (self.step != 1 or self.low < 1):
            raise ValueError(f"a log range needs low >= 1 and step 1, got low={self.low}, step={self.step}")

    def suggest(self, trial: Suggester, name: str) -> Any:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)

    def kerastuner(self, hp: Any, name: str) -> Any:
        return int(hp.Int(name, self.low, self.high, step=None if self.log else self.step, sampling="log" if self.log else "linear"))

    def distribution(self) -> Any:
        import optuna

        return optuna.distributions.IntDistribution(self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class FloatRange(_Bounded):
    KIND: ClassVar[str] = "float"
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"`low <= high` must hold, but got low={self.low}, high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("`step` and `log: true` cannot be combined")

    def suggest(self, trial: Suggester, name: str) -> Any:
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)

    def kerastuner(self, hp: Any, name: str) -> Any:
        return float(hp.Float(name, self.low, self.high, step=self.step, sampling="log" if self.log else "linear"))

    def distribution(self) -> Any:
        import optuna

        return optuna.distributions.FloatDistribution(self.low, self.high, step=self.step, log=self.log)


ParamSpec = Fixed | Categorical | IntRange | FloatRange
PARAM_SPECS = (Fixed, Categorical, IntRange, FloatRange)  # for isinstance: a value is one of them


def one_of(values: tuple[Scalar, ...]) -> ParamSpec:
    """A fixed value when there is only one to choose from, else a categorical choice."""
    return Fixed(values[0]) if len(values) == 1 else Categorical(values)


@dataclass(frozen=True)
class CnnParams:
    """The seed study's network: 3 x (Conv2D + MaxPool), Flatten, Dense, Dropout, Dense(1)."""

    filters: int  # first block; doubled in each following block
    kernel_size: int
    dense_units: int
    dropout: float


@dataclass(frozen=True)
class HeadParams:
    kind: str  # a head name of models/registry.py
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
    input_size: int | str  # a square's side, or "HxW" (spec.size); ``size`` is it as an ImageSize
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
        """A backbone with a new head (the CNN family has its own layers and no head)."""
        return self.head is not None

    @property
    def size(self) -> ImageSize:
        return ImageSize.of(self.input_size)

    @property
    def total_epochs(self) -> int:
        return self.epochs + (self.fine_tune_epochs if self.fine_tune else 0)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrialParams:
        raw = dict(raw)
        raw["augmentation"] = AugmentationParams(**raw["augmentation"])
        if raw.get("cnn") is not None:
            raw["cnn"] = CnnParams(**raw["cnn"])
        if raw.get("head") is not None:
            raw["head"] = HeadParams(**raw["head"])
        return cls(**raw)

    @classmethod
    def from_json(cls, text: str) -> TrialParams:
        return cls.from_dict(json.loads(text))
