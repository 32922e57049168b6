"""Train one model on one fold: the full network, or the trainable part on cached activations.

The three paths:

* feature extraction on cached activations: the head alone on the backbone's output
  (the backbone is not even built once its activations are cached);
* fine-tuning on cached activations: the layers above the cut (the first unfrozen layer)
  and the head, sharing every layer with the full model;
* the full network (the CNN, no cache, or augmentation on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mammosearch.data import Fold, ImageSet
from mammosearch.spec import CACHED, CACHED_VIEWS, TrialOutcome, TrialParams
from mammosearch.trial._deepest_cut import FrozenPasses, activations_at, views_at
from mammosearch.trial._events import EpochListener
from mammosearch.trial.activations import ActivationKey, weights_identity

if TYPE_CHECKING:
    from mammosearch.trial.fit import FitResult


@dataclass(frozen=True)
class FoldFit:
    """A trained fold model: how to save it, its fit, and how to score images with it.

    ``save_model`` writes the trained model into a trial folder when the trial is kept:
    the full model (image in, probability out), or for a head trained on cached
    activations the head's weights, from which ``store/kept_models`` assembles the full
    model later. ``score`` maps a boolean mask over the data to malignancy probabilities,
    from cached activations when the fold trained on them (same numbers, less work);
    ``score_mirrored`` the same for the images mirrored left to right (flip TTA), whose
    activations are cached as a second image set.
    """

    save_model: Callable[[Path], None]
    result: FitResult
    seconds: float
    score: Callable[[np.ndarray], np.ndarray]
    score_mirrored: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FoldContext:
    """What every fold of a trial shares: the display, logs, the activation cache and how it is filled."""

    listener: EpochListener | None
    tensorboard_dir: Path | None  # this trial's log folder, or None
    passes: FrozenPasses  # the activation cache, the space's deepest cut, images per frozen pass
    images_key: Callable[[ImageSet], str]  # fingerprint of the pixels (part of the activation key)
    views: int = 8  # augmented views per image on the cached-views path
    activation_dir: Path | None = None  # where the views' activations are memory-mapped
    deadline: float | None = None  # the command's time budget (wall clock): stop at the epoch boundary before it
    feature_extraction: bool = False  # whether trials of the space may train a head alone on the backbone's output


MIRRORED_KEY = "|mirrored"  # appended to an image set's fingerprint for its mirror images' activations


def _mirrored(data: ImageSet) -> ImageSet:
    from mammosearch.models import mirror_images

    return replace(data, images=mirror_images(data.images))


def _scorers(model: Any, inputs_of: Callable[[ImageSet, str], np.ndarray], data: ImageSet, batch_size: int,
             ) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """``score`` and ``score_mirrored`` of :class:`FoldFit`: ``model`` over ``inputs_of(images, key suffix)`` at a mask's rows."""
    from mammosearch.trial.fit import predict_scores

    def score(mask: np.ndarray) -> np.ndarray:
        return predict_scores(model, inputs_of(data, ""), batch_size, np.flatnonzero(mask))

    def score_mirrored(mask: np.ndarray) -> np.ndarray:
        return predict_scores(model, inputs_of(_mirrored(data), MIRRORED_KEY), batch_size, np.flatnonzero(mask))

    return score, score_mirrored


def fit_fold(context: FoldContext, trial: Any, outcome: TrialOutcome, data: ImageSet, fold: Fold, report_epochs: bool, n_folds: int) -> FoldFit:
    import keras

    from mammosearch.models import build_model, save_full_model, save_head_weights
    from mammosearch.models.build import backbone_of, head_only_model, plan_cut, trainer_model
    from mammosearch.trial.fit import Arrays, BudgetStop, EpochProgress, PruningCallback, fit_two_phase, training_data

    assert outcome.params is not None
    # A fresh graph per model keeps metric names stable (val_auc, not val_auc_3).
    keras.backend.clear_session(free_memory=True)
    params = replace(outcome.params, seed=outcome.params.seed + fold.index)
    keras.utils.set_random_seed(params.seed)
    callbacks: list[Any] = [PruningCallback(trial)] if report_epochs else []
    fold_text = f"fold {fold.index + 1}/{n_folds} " if n_folds > 1 else ""
    callbacks.append(EpochProgress(params.total_epochs, prefix=fold_text))
    if context.deadline is not None:  # after the pruner: a trial it prunes is recorded as pruned
        callbacks.append(BudgetStop(context.deadline, params.total_epochs, f" ({fold_text.strip()})" if fold_text else ""))
    if context.tensorboard_dir is not None:
        from mammosearch.trial.fit import tensorboard_callbacks

        log_dir = context.tensorboard_dir if n_folds == 1 else context.tensorboard_dir / f"fold_{fold.index + 1}"
        callbacks += tensorboard_callbacks(log_dir, params)
    listener = context.listener if report_epochs else None
    started = time.perf_counter()

    def fit(model: Any, x: np.ndarray, train: Any = None, **kwargs: Any) -> FitResult:
        training = train if train is not None else training_data(x, np.flatnonzero(fold.train), data.labels, params)
        validation = Arrays.rows_of(x, np.flatnonzero(fold.val), data.labels)
        return fit_two_phase(model, params, training, validation, callbacks, listener, **kwargs)

    def activations(cut: str, full_model: Callable[[], Any], images: ImageSet = data, key_suffix: str = "") -> np.ndarray:
        outcome.activation_cut = cut
        return _activations(context, params, images, cut, full_model, key_suffix)

    if outcome.training_path == CACHED_VIEWS:
        return _fit_on_views(context, outcome, params, data, fold, fit, activations, started)

    if outcome.training_path == CACHED and not params.fine_tune:
        # Feature extraction: the backbone is not even built unless its activations are not cached yet.
        cut = _output_layer(params)
        features = activations(cut, lambda: build_model(params, data.channels))
        head = head_only_model(params, tuple(features.shape[1:]))
        result = fit(head, features)
        scores = _scorers(head, lambda images, suffix: activations(cut, lambda: build_model(params, data.channels), images, suffix), data, params.batch_size)
        return FoldFit(lambda trial_dir: save_head_weights(head, trial_dir), result, time.perf_counter() - started, *scores)

    model = build_model(params, data.channels)
    if outcome.training_path == CACHED:
        # Fine-tuning: activations just below the first unfrozen layer (a single-input cut).
        plan = plan_cut(backbone_of(model), params.unfrozen_layers)
        outcome.unfrozen_actual = plan.unfrozen
        features = activations(plan.cut_layer, lambda: model)
        if context.feature_extraction:
            # The feature-extraction trials' cut too, while this backbone is as built: from the deepest
            # cut's activations it is a few layers' work, where a later trial would build a backbone for it.
            _activations(context, params, data, _output_layer(params), lambda: model)
        trainer = trainer_model(model, plan.cut_layer, tuple(features.shape[1:]))
        result = fit(trainer, features, backbone_owner=model, unfrozen_layers=plan.unfrozen)
        scores = _scorers(trainer, lambda images, suffix: activations(plan.cut_layer, lambda: model, images, suffix), data, params.batch_size)
        return FoldFit(lambda trial_dir: save_full_model(model, trial_dir), result, time.perf_counter() - started, *scores)
    result = fit(model, data.images)
    scores = _scorers(model, lambda images, _: images.images, data, params.batch_size)
    return FoldFit(lambda trial_dir: save_full_model(model, trial_dir), result, time.perf_counter() - started, *scores)


def _output_layer(params: TrialParams) -> str:
    from mammosearch.models import family

    cut = family(params.family).output_layer
    assert cut is not None
    return cut


def _activations(context: FoldContext, params: TrialParams, data: ImageSet, cut: str, full_model: Callable[[], Any], key_suffix: str = "") -> np.ndarray:
    """Activations at ``cut`` for every image, from the cache or computed (once, from the deepest cut's) with ``full_model()``.

    ``key_suffix`` tells the mirror images apart from the images they are a view of (same size, so
    the runner's per-size fingerprint would not).
    """
    from mammosearch.models.build import RANDOM_INIT_SEED

    key = ActivationKey(
        family=params.family,
        weights=weights_identity(params.weights, RANDOM_INIT_SEED),
        input_size=params.input_size,
        channels=data.channels,
        cut_layer=cut,
        images=context.images_key(data) + key_suffix,
    )

    return activations_at(context.passes, key, data.images, full_model)


def _fit_on_views(
    context: FoldContext, outcome: TrialOutcome, params: TrialParams, data: ImageSet, fold: Fold,
    fit: Callable[..., FitResult], activations: Callable[..., np.ndarray], started: float,
) -> FoldFit:
    """Augmentation on cached activations: train on one cached view per image per epoch, validate unaugmented."""
    from mammosearch.models import build_model, family, save_full_model, save_head_weights
    from mammosearch.models.build import backbone_of, head_only_model, plan_cut, trainer_model
    from mammosearch.trial.fit import ViewBatches, class_weights_for, view_key

    model = build_model(params, data.channels)
    plan = plan_cut(backbone_of(model), params.unfrozen_layers) if params.fine_tune else None
    cut = plan.cut_layer if plan is not None else family(params.family).output_layer
    assert cut is not None
    if plan is not None:
        outcome.unfrozen_actual = plan.unfrozen
    plain = activations(cut, lambda: model)  # unaugmented: validation, test, and the shape
    seed = 7919  # the views are a property of the data set, the same for every trial

    def path_of(at: str) -> Path | None:
        key = view_key(f"{params.family}|{params.weights}|{params.input_size}|{at}|{context.images_key(data)}", params.augmentation, context.views, seed)
        return None if context.activation_dir is None else context.activation_dir / f"{key}-views.npy"

    views = views_at(context.passes, cut, model, data.images, params.augmentation, context.views, seed, path_of)
    weights = class_weights_for(data.labels[fold.train]) if params.class_weights else None
    batches = ViewBatches(views, np.flatnonzero(fold.train), data.labels[fold.train], params.batch_size, params.seed, weights)
    def inputs_of(images: ImageSet, suffix: str) -> np.ndarray:
        return activations(cut, lambda: model, images, suffix)

    if plan is None:
        head = head_only_model(params, tuple(plain.shape[1:]))
        result = fit(head, plain, train=batches)
        return FoldFit(lambda trial_dir: save_head_weights(head, trial_dir), result, time.perf_counter() - started,
                       *_scorers(head, inputs_of, data, params.batch_size))
    trainer = trainer_model(model, cut, tuple(plain.shape[1:]))
    result = fit(trainer, plain, train=batches, backbone_owner=model, unfrozen_layers=plan.unfrozen)
    return FoldFit(lambda trial_dir: save_full_model(model, trial_dir), result, time.perf_counter() - started,
                   *_scorers(trainer, inputs_of, data, params.batch_size))
