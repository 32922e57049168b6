"""The only module that calls ``trial.suggest_*``: an Optuna trial -> :class:`TrialParams`.

Conditional parameters are suggested only where they apply: the CNN's own knobs only for
``cnn``; the head, fine-tuning switch and unfrozen-layer count only for transfer families;
``head_dense_units`` only for the dense head; the fine-tune learning rate and epochs only
when fine-tuning is on. Fixed values are never suggested (they are not search dimensions);
they still end up in the :class:`TrialParams` stored with the trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optuna.distributions import BaseDistribution

from mammosearch.config import Space
from mammosearch.models import family as family_entry
from mammosearch.spec import AugmentationParams, Categorical, CnnParams, FloatRange, HeadParams, IntRange, Suggester, TrialParams, one_of, size_value
from mammosearch.trial.param_names import Renamed


def sample_params(trial: Suggester, space: Space, names: Mapping[str, str] | None = None) -> TrialParams:
    """Turn one trial into the typed parameters of one model and its training.

    ``names`` gives a parameter the versioned name Optuna knows it by in this study
    (trial/param_names.py); the params returned are the same whatever the names.
    """
    if names:
        trial = Renamed(trial, names)
    model, training = space.model, space.training
    family = one_of(model.families).suggest(trial, "family")
    aug = training.augmentation
    common = dict(
        family=family,
        input_size=size_value(model.input_size.suggest(trial, "input_size")),
        optimizer=training.optimizer.suggest(trial, "optimizer"),
        learning_rate=float(training.learning_rate.suggest(trial, "learning_rate")),
        batch_size=int(training.batch_size.suggest(trial, "batch_size")),
        epochs=int(training.epochs.suggest(trial, "epochs")),
        class_weights=training.class_weights,
        augmentation=AugmentationParams(
            flip=bool(aug.flip.suggest(trial, "aug_flip")),
            rotation=float(aug.rotation.suggest(trial, "aug_rotation")),
            zoom=float(aug.zoom.suggest(trial, "aug_zoom")),
            contrast=float(aug.contrast.suggest(trial, "aug_contrast")),
        ),
    )
    if not family_entry(family).transfer:
        cnn = model.cnn
        return TrialParams(
            **common,
            cnn=CnnParams(
                filters=int(cnn.filters.suggest(trial, "cnn_filters")),
                kernel_size=int(cnn.kernel_size.suggest(trial, "cnn_kernel_size")),
                dense_units=int(cnn.dense_units.suggest(trial, "cnn_dense_units")),
                dropout=float(cnn.dropout.suggest(trial, "cnn_dropout")),
            ),
        )

    head_kind = one_of(model.heads).suggest(trial, "head")
    head = HeadParams(
        kind=head_kind,
        dropout=float(model.head.dropout.suggest(trial, "head_dropout")),
        dense_units=int(model.head.dense_units.suggest(trial, "head_dense_units")) if head_kind == "dense_bn_dropout" else None,
    )
    fine_tune = bool(training.fine_tune.suggest(trial, "fine_tune"))
    tuning: dict[str, Any] = {}
    if fine_tune:
        tuning = dict(
            unfrozen_layers=int(training.unfrozen_layers.suggest(trial, "unfrozen_layers")),
            fine_tune_learning_rate=float(training.fine_tune_learning_rate.suggest(trial, "fine_tune_learning_rate")),
            fine_tune_epochs=int(training.fine_tune_epochs.suggest(trial, "fine_tune_epochs")),
        )
    return TrialParams(**common, weights=model.weights.get(family), head=head, fine_tune=fine_tune, **tuning)


class _Declaring:
    """Walks one branch of the space (family, head, fine-tuning forced), noting each suggested distribution."""

    def __init__(self, forced: dict[str, Any], into: dict[str, BaseDistribution]) -> None:
        self.forced, self.into = forced, into

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        self.into[name] = Categorical(tuple(choices)).distribution()
        return self.forced.get(name, list(choices)[0])

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        self.into[name] = IntRange(low, high, step, log).distribution()
        return low

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        self.into[name] = FloatRange(low, high, log, step).distribution()
        return low


def space_distributions(space: Space) -> dict[str, BaseDistribution]:
    """Every parameter Optuna samples in ``space`` (any branch), by its plain name, with its distribution."""
    found: dict[str, BaseDistribution] = {}
    for family in space.model.families:
        for head in space.model.heads:
            for fine_tune in (False, True):
                sample_params(_Declaring({"family": family, "head": head, "fine_tune": fine_tune}, found), space)
    return found
