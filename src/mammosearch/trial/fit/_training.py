"""Compile and fit: a frozen-backbone head phase, then an optional fine-tuning phase.

After each epoch the model predicts the validation split once and the callbacks see
``val_auc`` (exact, the AUC the study records), ``val_loss`` and ``val_accuracy``; the
weights of the best epoch are kept in memory and restored at the end, so the model that
is evaluated, saved and exported is the one whose AUC the study records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from mammosearch.data.arrays import release
from mammosearch.errors import TrialFailed
from mammosearch.models.build import freeze_backbone, has_backbone, unfreeze_top_layers
from mammosearch.spec import TrialParams
from mammosearch.trial._events import MONITOR, EpochListener


@dataclass(frozen=True)
class Arrays:
    """Inputs (images in the raw 0..255 range, or activations) and labels (float32 0/1) of one split.

    With ``rows``, ``x`` is the whole set (in memory or memory-mapped) and the split is its
    rows ``rows``, read a batch at a time: a large set's split is never copied whole.
    """

    x: np.ndarray
    y: np.ndarray
    rows: np.ndarray | None = None

    @classmethod
    def of(cls, images: np.ndarray, labels: np.ndarray) -> Arrays:
        return cls(images.astype("float32", copy=False), labels.astype("float32", copy=False))

    @classmethod
    def rows_of(cls, x: np.ndarray, rows: np.ndarray, labels: np.ndarray) -> Arrays:
        """Rows ``rows`` of ``x``, labelled by ``labels[rows]``, left where they are."""
        return cls(x, labels[rows].astype("float32"), rows)


@dataclass
class FitResult:
    best_epoch: int  # 1-based, global across phases
    best_monitor: float  # val_auc at that epoch (used to pick the epoch)
    epochs_trained: int
    history: list[dict[str, float]] = field(default_factory=list)
    unfrozen_with_weights: int | None = None  # backbone layers that trained in fine-tuning
    # Validation scores of the best epoch: those of the restored weights, so the trial
    # needs no second validation pass after fitting.
    best_val_scores: np.ndarray | None = None


def make_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    factories = {
        "adam": lambda: keras.optimizers.Adam(learning_rate),
        "adamw": lambda: keras.optimizers.AdamW(learning_rate),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate),
        "sgd": lambda: keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True),
    }
    if name not in factories:
        raise ValueError(f"`optimizer` must be one of {sorted(factories)}, but got {name!r}.")
    return factories[name]()


STEPS_PER_EXECUTION = 16


def compile_model(model: keras.Model, optimizer: str, learning_rate: float) -> None:
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss="binary_crossentropy",
        # Training accuracy only: Keras' thresholded AUC costs a tenth of a small head's
        # fit and the validation metrics come from _ValidationScores, not from Keras.
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
        # Several batches per compiled call: on small heads over cached activations the
        # Python round trip per batch, not the arithmetic, is what an epoch costs. Keras'
        # PyTorch trainer runs eagerly and accepts only 1.
        steps_per_execution=1 if keras.backend.backend() == "torch" else STEPS_PER_EXECUTION,
    )
    # The optimizer's slots (Adam's moments) made now, for the weights that train in this
    # phase. Left to the first step, they are created inside the traced train step, and a
    # tf.function that creates variables is traced twice (once creating, once using them);
    # tracing, not arithmetic, is most of a small model's fit. Same variables, same zeros:
    # the trained weights are bit for bit those of the deferred build (tests/trial/test_training_compile.py).
    model.optimizer.build(model.trainable_variables)


def class_weights_for(labels: np.ndarray) -> dict[int, float] | None:
    """Inverse-frequency weights so both classes count equally in the loss."""
    counts = np.bincount(labels.astype(int), minlength=2)
    if np.any(counts == 0):
        return None
    return {c: float(len(labels) / (2.0 * counts[c])) for c in (0, 1)}


class _ValidationScores(keras.callbacks.Callback):
    """Adds val_auc, val_loss and val_accuracy to the epoch's logs, from one predict pass.

    Replaces ``fit(validation_data=...)``: Keras' evaluate traces a second function per
    model and its AUC is a 200-threshold approximation, while a predict pass is needed
    anyway (the trial's scores) and its trace is reused. Must come first among the
    callbacks: the others read the logs it fills in.
    """

    def __init__(self, val: Arrays, batch_size: int) -> None:
        super().__init__()
        self.val = val
        self.batch_size = batch_size
        self.latest: np.ndarray | None = None  # this epoch's scores, for _BestEpoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        self.latest = predict_scores(self.model, self.val.x, self.batch_size, self.val.rows)
        logs.update(validation_metrics(self.val.y, self.latest))


def validation_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Exact ROC AUC (NaN with a single class or non-finite scores), log loss and accuracy at 0.5."""
    from mammosearch.metrics import auc_from_ranks

    y = labels.astype("float64")
    if not np.all(np.isfinite(scores)):
        return {"val_loss": math.nan, "val_auc": math.nan, "val_accuracy": math.nan}
    p = np.clip(scores, 1e-7, 1 - 1e-7)  # Keras' epsilon: the same loss it would log
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    auc = auc_from_ranks(y, scores)
    return {"val_loss": loss, "val_auc": math.nan if auc is None else auc, "val_accuracy": float(np.mean((scores > 0.5) == (y > 0.5)))}


class _BestEpoch(keras.callbacks.Callback):
    """Keeps the weights (and validation scores) of the best-``val_auc`` epoch; fails the trial on a non-finite loss."""

    def __init__(self, state: FitResult, validation: _ValidationScores, listener: EpochListener | None, total: int) -> None:
        super().__init__()
        self.state = state
        self.validation = validation
        self.listener = listener
        self.total = total
        self.best_weights: list[np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {k: float(v) for k, v in (logs or {}).items()}
        number = epoch + 1
        self.state.history.append({"epoch": number, **logs})
        self.state.epochs_trained = number
        for name in ("loss", "val_loss"):
            value = logs.get(name, math.nan)
            if not math.isfinite(value):
                raise TrialFailed(f"non-finite {'training' if name == 'loss' else 'validation'} loss ({value}) at epoch {number}; lower the learning rate")
        value = logs.get(MONITOR, math.nan)
        if math.isfinite(value) and (self.best_weights is None or value > self.state.best_monitor):
            self.state.best_monitor = value
            self.state.best_epoch = number
            self.best_weights = [w.copy() for w in self.model.get_weights()]
            self.state.best_val_scores = self.validation.latest
        if self.listener is not None:
            self.listener.on_epoch(number, self.total, logs)


def fit_two_phase(
    model: keras.Model,
    params: TrialParams,
    train: Arrays | keras.utils.PyDataset,
    val: Arrays,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    listener: EpochListener | None = None,
    backbone_owner: keras.Model | None = None,
    unfrozen_layers: int | None = None,
) -> FitResult:
    """Train the head (backbone frozen), then fine-tune the top layers when asked to.

    Epochs are numbered globally across the phases (``initial_epoch``) so a pruner and
    TensorBoard see one continuous curve. Raises ``TrialFailed`` on a non-finite loss.
    ``model`` is what trains; freezing is applied to ``backbone_owner`` (default: the same
    model), so a model built on cached activations that shares its layers with the full
    model trains exactly the layers the full model would. ``unfrozen_layers`` overrides
    ``params.unfrozen_layers`` (when the cached path rounded it to a block boundary).
    ``train`` is arrays, or a dataset (cached augmented views: one view per image per epoch).
    """
    owner = backbone_owner if backbone_owner is not None else model
    n_unfrozen = params.unfrozen_layers if unfrozen_layers is None else unfrozen_layers
    total = params.total_epochs
    state = FitResult(best_epoch=0, best_monitor=-math.inf, epochs_trained=0)
    validation = _ValidationScores(val, params.batch_size)
    tracker = _BestEpoch(state, validation, listener, total)
    fit_args: dict[str, Any] = dict(verbose=0, callbacks=[validation, tracker, *callbacks])
    if isinstance(train, Arrays):
        if train.rows is not None:
            raise ValueError("training rows left on disk come as a dataset (trial/streaming.py), not as Arrays")
        weights = class_weights_for(train.y) if params.class_weights else None
        fit_args.update(x=train.x, y=train.y, batch_size=params.batch_size, class_weight=weights)
    else:
        fit_args.update(x=train)  # batches (and their sample weights) come from the dataset
    # Batch order and dropout follow params.seed, whatever building the model consumed.
    keras.utils.set_random_seed(params.seed)
    if params.is_transfer and has_backbone(owner):  # a head-only model on cached activations has none
        freeze_backbone(owner)
    compile_model(model, params.optimizer, params.learning_rate)
    model.fit(epochs=params.epochs, **fit_args)

    if params.is_transfer and params.fine_tune:
        state.unfrozen_with_weights = unfreeze_top_layers(owner, n_unfrozen)
        # Recompiling is what makes the new trainable flags take effect.
        compile_model(model, params.optimizer, float(params.fine_tune_learning_rate or params.learning_rate))
        model.fit(epochs=total, initial_epoch=params.epochs, **fit_args)

    if tracker.best_weights is None:
        raise TrialFailed("validation AUC was never finite; the validation split may hold a single class")
    model.set_weights(tracker.best_weights)
    return state


def predict_scores(model: keras.Model, x: np.ndarray, batch_size: int = 64, rows: np.ndarray | None = None) -> np.ndarray:
    """Malignancy probabilities as a flat float64 array (of ``x[rows]`` when ``rows`` is given).

    Batch by batch with ``predict_on_batch``: ``predict`` builds a tf.data pipeline on
    every call (about 50 ms on 2 cores), more than a head over cached activations needs
    to score the whole validation split, and the validation pass runs every epoch. Each
    batch is read and converted to float32 on its own (the same numbers as converting the
    whole set first), so a large or memory-mapped ``x`` is never copied whole.
    """
    n = len(x) if rows is None else len(rows)
    parts = []
    for start in range(0, n, batch_size):
        batch = x[start : start + batch_size] if rows is None else x[rows[start : start + batch_size]]
        parts.append(np.asarray(model.predict_on_batch(batch.astype("float32", copy=False)), dtype="float64").reshape(-1))
    release(x)
    return np.concatenate(parts) if parts else np.empty(0)
