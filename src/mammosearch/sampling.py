"""The only module that calls ``trial.suggest_*``: an Optuna trial -> :class:`TrialParams`.

Conditional parameters are suggested only where they apply: the CNN's own knobs only for
``cnn``; the head, fine-tuning switch and unfrozen-layer count only for transfer families;
``head_dense_units`` only for the dense head; the fine-tune learning rate and epochs only
when fine-tuning is on. Fixed values are never suggested (they are not search dimensions);
they still end up in the :class:`TrialParams` stored with the trial.
"""

from __future__ import annotations

from typing import Any, Protocol

from mammosearch.params import (
    AugmentationParams,
    Categorical,
    CnnParams,
    FloatRange,
    Fixed,
    HeadParams,
    IntRange,
    ParamSpec,
    TrialParams,
)
from mammosearch.space import Space


class Suggester(Protocol):
    """What sampling needs from an Optuna trial (``Trial`` and ``FixedTrial`` both fit)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...
    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...
    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float: ...


def suggest(trial: Suggester, name: str, spec: ParamSpec) -> Any:
    """Draw one value for ``spec`` (or return it, when it is fixed)."""
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, Categorical):
        return trial.suggest_categorical(name, list(spec.choices))
    if isinstance(spec, IntRange):
        return trial.suggest_int(name, spec.low, spec.high, step=spec.step, log=spec.log)
    if isinstance(spec, FloatRange):
        return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
    raise TypeError(f"unknown parameter spec {spec!r}")


def sample_params(trial: Suggester, space: Space) -> TrialParams:
    """Turn one trial into the typed parameters of one model and its training."""
    model, training = space.model, space.training
    family = suggest(trial, "family", Categorical(model.families) if len(model.families) > 1 else Fixed(model.families[0]))
    aug = training.augmentation
    common = dict(
        family=family,
        input_size=int(suggest(trial, "input_size", model.input_size)),
        optimizer=suggest(trial, "optimizer", training.optimizer),
        learning_rate=float(suggest(trial, "learning_rate", training.learning_rate)),
        batch_size=int(suggest(trial, "batch_size", training.batch_size)),
        epochs=int(suggest(trial, "epochs", training.epochs)),
        class_weights=training.class_weights,
        augmentation=AugmentationParams(
            flip=bool(suggest(trial, "aug_flip", aug.flip)),
            rotation=float(suggest(trial, "aug_rotation", aug.rotation)),
            zoom=float(suggest(trial, "aug_zoom", aug.zoom)),
            contrast=float(suggest(trial, "aug_contrast", aug.contrast)),
        ),
    )
    if family == "cnn":
        cnn = model.cnn
        return TrialParams(
            **common,
            cnn=CnnParams(
                filters=int(suggest(trial, "cnn_filters", cnn.filters)),
                kernel_size=int(suggest(trial, "cnn_kernel_size", cnn.kernel_size)),
                dense_units=int(suggest(trial, "cnn_dense_units", cnn.dense_units)),
                dropout=float(suggest(trial, "cnn_dropout", cnn.dropout)),
            ),
        )

    head_kind = suggest(trial, "head", Categorical(model.heads) if len(model.heads) > 1 else Fixed(model.heads[0]))
    head = HeadParams(
        kind=head_kind,
        dropout=float(suggest(trial, "head_dropout", model.head.dropout)),
        dense_units=int(suggest(trial, "head_dense_units", model.head.dense_units)) if head_kind == "dense_bn_dropout" else None,
    )
    fine_tune = bool(suggest(trial, "fine_tune", training.fine_tune))
    tuning: dict[str, Any] = {}
    if fine_tune:
        tuning = dict(
            unfrozen_layers=int(suggest(trial, "unfrozen_layers", training.unfrozen_layers)),
            fine_tune_learning_rate=float(suggest(trial, "fine_tune_learning_rate", training.fine_tune_learning_rate)),
            fine_tune_epochs=int(suggest(trial, "fine_tune_epochs", training.fine_tune_epochs)),
        )
    return TrialParams(**common, weights=model.weights.get(family), head=head, fine_tune=fine_tune, **tuning)
