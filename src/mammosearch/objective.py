"""One trial: build, train and evaluate a model (once, or once per cross-validation fold).

Everything a report needs is stored with the trial, so nothing is retrained later:
the params, the per-epoch history, the metrics on validation (and test), the fold AUCs,
and for the top-K trials the trained model and its predictions.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import optuna

from mammosearch.activations import ActivationCache
from mammosearch.artifacts import StudyDir, write_json
from mammosearch.data.base import ImageSet
from mammosearch.data.folds import Fold, cross_validation_folds, holdout_fold
from mammosearch.data.images import resize_images
from mammosearch.errors import MammosearchError, TrialFailed
from mammosearch.metrics import bootstrap_auc_ci, evaluate_predictions
from mammosearch.params import TrialParams
from mammosearch.sampling import sample_params
from mammosearch.space import Space


FULL = "full network"
FULL_AUGMENTED = "full network (augmentation on)"
CACHED = "cached activations"


class StudyListener(Protocol):
    """What the command line shows while a study runs."""

    def on_study_start(self, study_name: str, finished: int, n_trials: int | None, data_description: str, notes: tuple[str, ...]) -> None: ...
    def on_trial_start(self, number: int, params: TrialParams) -> None: ...
    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None: ...
    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None: ...


class Objective:
    """Called by ``study.optimize`` once per trial; returns the validation AUC."""

    def __init__(
        self,
        space: Space,
        images: ImageSet,
        study_dir: StudyDir,
        listener: StudyListener | None,
        tensorboard: bool,
        activation_dir: Path | None = None,
        adjust: Callable[[TrialParams, Any], TrialParams] | None = None,
    ) -> None:
        self.space = space
        self.images = images
        self.study_dir = study_dir
        self.listener = listener
        self.tensorboard = tensorboard
        # A second engine can change sampled params before training (KerasTuner's
        # Hyperband sets each trial's epoch budget).
        self.adjust = adjust or (lambda params, trial: params)
        self._resized: dict[int, ImageSet] = {}
        self._fingerprints: dict[int, str] = {}
        self.activations = ActivationCache(activation_dir)
        k = space.evaluation.cv_folds
        # Folds depend on labels and patients only, so they are fixed for the whole study.
        self.folds: list[Fold] = (
            cross_validation_folds(images.labels, images.patient_ids, images.splits, k, space.evaluation.seed)
            if k else [holdout_fold(images.splits)]
        )

    def data_at(self, size: int) -> ImageSet:
        """The image set at the trial's input size (resized once per size, then reused)."""
        if size not in self._resized:
            images = self.images
            self._resized[size] = images if images.image_size == size else ImageSet(
                images=resize_images(images.images, size),
                labels=images.labels,
                patient_ids=images.patient_ids,
                splits=images.splits,
                description=images.description,
                notes=images.notes,
            )
        return self._resized[size]

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.adjust(sample_params(trial, self.space), trial)
        params = dataclasses.replace(params, seed=self.space.study.seed * 10_007 + trial.number * 101)
        trial.set_user_attr("params", json_ready(params))
        # What one pruner step is: an epoch, or a fold when cross-validating.
        trial.set_user_attr("step_unit", "fold" if len(self.folds) > 1 else "epoch")
        if self.listener is not None:
            self.listener.on_trial_start(trial.number, params)
        try:
            return self._run(trial, params)
        except optuna.TrialPruned:
            raise
        except TrialFailed as exc:
            failure = exc
        except MammosearchError:
            raise  # fatal: configuration or data, stops the study
        except MemoryError:
            failure = TrialFailed("out of memory; lower batch_size or input_size")
        except Exception as exc:
            # Anything else Keras or the backend raises (OOM as ResourceExhaustedError,
            # shape errors from an odd combination) fails this trial only.
            text = str(exc).strip().splitlines()
            reason = f"{type(exc).__name__}: {text[0] if text else ''}"[:500]
            if "ResourceExhausted" in reason or "OOM" in reason:
                reason += " (out of memory; lower batch_size or input_size)"
            failure = TrialFailed(reason)
        trial.set_user_attr("fail_reason", str(failure))
        raise failure

    # ------------------------------------------------------------------ training

    def _run(self, trial: optuna.Trial, params: TrialParams) -> float:
        started = time.perf_counter()
        data = self.data_at(params.input_size)
        cv = len(self.folds) > 1
        fold_aucs: list[float] = []
        oof_scores = np.full(len(data.labels), np.nan)
        save_kept: Callable[[Path], None] = lambda trial_dir: None
        kept_score: Callable[[np.ndarray], np.ndarray] = lambda mask: np.empty(0)
        fit_seconds = 0.0
        for fold in self.folds:
            save_model, result, seconds, score = self._fit_fold(trial, params, data, fold, report_epochs=not cv)
            fit_seconds += seconds
            # Predicted during fitting, at the best epoch, with the weights now restored
            # (fit_two_phase fails the trial rather than return without them).
            scores = result.best_val_scores
            oof_scores[fold.val] = scores
            auc = evaluate_predictions(data.labels[fold.val], scores)["auc"]
            if auc is None or not math.isfinite(auc):
                raise TrialFailed(f"validation AUC is undefined in fold {fold.index + 1} (one class)")
            fold_aucs.append(float(auc))
            if fold.index == 0:
                # The first fold's model is the one kept and exported (trained on (k-1)/k of the pool).
                save_kept, kept_score = save_model, score
                trial.set_user_attr("best_epoch", result.best_epoch)
                trial.set_user_attr("epochs_trained", result.epochs_trained)
                trial.set_user_attr("history", json_ready(result.history))
                if result.unfrozen_with_weights is not None:
                    trial.set_user_attr("unfrozen_with_weights", result.unfrozen_with_weights)
            if cv:
                # Pruning on the running mean of the folds done so far, one step per fold.
                running = float(np.mean(fold_aucs))
                trial.report(running, step=fold.index)
                if self.listener is not None:
                    self.listener.on_epoch(fold.index + 1, len(self.folds), {"val_auc": running})
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {fold.index + 1} with mean val_auc={running:.4f}")

        value = float(np.mean(fold_aucs))
        scored = np.isfinite(oof_scores) if cv else self.folds[0].val
        val_metrics = evaluate_predictions(data.labels[scored], oof_scores[scored])
        val_metrics["auc_ci95"] = _auc_interval(data.labels[scored], oof_scores[scored], data.patient_ids[scored])
        if cv:
            val_metrics["fold_aucs"] = fold_aucs
            val_metrics["mean_fold_auc"] = value
            val_metrics["pooled"] = "out-of-fold predictions of all folds"
        trial.set_user_attr("val_metrics", val_metrics)

        first_val = self.folds[0].val
        predictions: dict[str, Any] = {"val": _prediction_record(data, first_val, oof_scores[first_val])}
        if cv:
            predictions["out_of_fold"] = _prediction_record(data, scored, oof_scores[scored])
        if data.has_split("test"):
            test = data.splits == "test"
            test_scores = kept_score(test)
            # The validation-chosen threshold is applied to test: test never selects anything.
            test_metrics = evaluate_predictions(data.labels[test], test_scores, threshold=val_metrics["youden_threshold"])
            test_metrics["auc_ci95"] = _auc_interval(data.labels[test], test_scores, data.patient_ids[test])
            trial.set_user_attr("test_metrics", test_metrics)
            predictions["test"] = _prediction_record(data, test, test_scores)

        self._keep_if_top_k(trial, save_kept, value, predictions)
        trial.set_user_attr("fit_seconds", round(fit_seconds, 3))
        trial.set_user_attr("trial_seconds", round(time.perf_counter() - started, 3))
        return value

    def _fit_fold(self, trial: optuna.Trial, params: TrialParams, data: ImageSet, fold: Fold, report_epochs: bool) -> tuple[Callable[[Path], None], Any, float, Callable[[np.ndarray], np.ndarray]]:
        """Train one model on ``fold``; returns (saver, fit result, fit seconds, scorer).

        The saver writes the trained model into a trial folder when the trial is kept: the
        full model (image in, probability out), or for a head trained on cached activations
        the head's weights, from which ``kept_models`` assembles the full model later.
        The scorer maps a boolean mask over ``data`` to malignancy probabilities, from
        cached activations when the trial trained on them (same numbers, less work).
        """
        import keras

        from mammosearch.kept_models import save_full_model, save_head_weights
        from mammosearch.models import build_model
        from mammosearch.models.cached import OUTPUT_LAYERS, head_only_model, trainer_model
        from mammosearch.models.cut import plan_cut
        from mammosearch.models.freezing import backbone_of
        from mammosearch.pruning import PruningCallback
        from mammosearch.training import Arrays, fit_two_phase, predict_scores

        # A fresh graph per model keeps metric names stable (val_auc, not val_auc_3).
        keras.backend.clear_session(free_memory=True)
        params = dataclasses.replace(params, seed=params.seed + fold.index)
        keras.utils.set_random_seed(params.seed)
        callbacks: list[keras.callbacks.Callback] = [PruningCallback(trial)] if report_epochs else []
        if self.tensorboard:
            from mammosearch.tensorboard_logging import tensorboard_callbacks

            log_dir = self.study_dir.tensorboard_dir(trial.number)
            callbacks += tensorboard_callbacks(log_dir if len(self.folds) == 1 else log_dir / f"fold_{fold.index + 1}", params)
        listener = self.listener if report_epochs else None
        started = time.perf_counter()
        path = self.training_path(params)
        trial.set_user_attr("training_path", path)

        def fit(model: Any, x: np.ndarray, **kwargs: Any) -> Any:
            return fit_two_phase(
                model, params, Arrays.of(x[fold.train], data.labels[fold.train]), Arrays.of(x[fold.val], data.labels[fold.val]),
                callbacks, listener, **kwargs,
            )

        if path == CACHED and not params.fine_tune:
            # Feature extraction: the backbone is not even built unless its activations are not cached yet.
            cut = OUTPUT_LAYERS[params.family]
            features = self._activations(trial, params, data, cut, lambda: build_model(params, data.channels))
            head = head_only_model(params, tuple(features.shape[1:]))
            result = fit(head, features)
            return (lambda trial_dir: save_head_weights(head, trial_dir)), result, time.perf_counter() - started, lambda mask: predict_scores(head, features[mask], params.batch_size)

        model = build_model(params, data.channels)
        if path == CACHED:
            # Fine-tuning: activations just below the first unfrozen layer (a single-input cut).
            plan = plan_cut(backbone_of(model), params.unfrozen_layers)
            trial.set_user_attr("unfrozen_actual", plan.unfrozen)
            features = self._activations(trial, params, data, plan.cut_layer, lambda: model)
            trainer = trainer_model(model, plan.cut_layer, tuple(features.shape[1:]))
            result = fit(trainer, features, backbone_owner=model, unfrozen_layers=plan.unfrozen)
            return (lambda trial_dir: save_full_model(model, trial_dir)), result, time.perf_counter() - started, lambda mask: predict_scores(trainer, features[mask], params.batch_size)
        result = fit(model, data.images)
        return (lambda trial_dir: save_full_model(model, trial_dir)), result, time.perf_counter() - started, lambda mask: predict_scores(model, data.images[mask], params.batch_size)

    def training_path(self, params: TrialParams) -> str:
        """Cached activations where the frozen layers see every image the same way each epoch."""
        if not params.is_transfer:
            return FULL
        if not self.space.training.cache_activations:
            return FULL
        if params.augmentation.enabled:
            return FULL_AUGMENTED  # augmented inputs change every epoch: nothing to cache
        return CACHED

    def _activations(self, trial: optuna.Trial, params: TrialParams, data: ImageSet, cut: str, full_model: Callable[[], Any]) -> np.ndarray:
        """Activations at ``cut`` for every image, from the cache or computed (once) with ``full_model()``."""
        from mammosearch.activations import ActivationKey, weights_identity
        from mammosearch.models.backbones import RANDOM_INIT_SEED
        from mammosearch.models.cached import feature_model

        trial.set_user_attr("activation_cut", cut)
        key = ActivationKey(
            family=params.family,
            weights=weights_identity(params.weights, RANDOM_INIT_SEED),
            input_size=params.input_size,
            channels=data.channels,
            cut_layer=cut,
            images=self._fingerprint(data),
        )

        def compute() -> np.ndarray:
            extractor = feature_model(full_model(), cut)
            return np.asarray(extractor.predict(data.images.astype("float32"), batch_size=64, verbose=0), dtype="float32")

        return self.activations.get(key, compute)

    def _fingerprint(self, data: ImageSet) -> str:
        from mammosearch.activations import images_fingerprint

        size = data.image_size
        if size not in self._fingerprints:
            self._fingerprints[size] = images_fingerprint(data.images)
        return self._fingerprints[size]

    # ------------------------------------------------------------------ artefacts

    def _keep_if_top_k(self, trial: optuna.Trial, save_model: Callable[[Path], None], value: float, predictions: dict[str, Any]) -> None:
        """Save this trial's model when it ranks in the top K; drop models pushed out of it.

        A head on cached activations is saved as its weights: its full model is assembled
        once, at the end of the run (``kept_models.assemble_pending``), not every time the
        best trial changes.
        """
        study = trial.study
        completed = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)) if t.value is not None]
        ranked = sorted([(t.value, -t.number) for t in completed] + [(value, -trial.number)], reverse=True)
        keep = {-n for _, n in ranked[: self.space.study.keep_top_k]}
        if trial.number in keep:
            try:
                write_json(self.study_dir.predictions_path(trial.number), predictions)
                save_model(self.study_dir.trial_dir(trial.number))
            except OSError as exc:
                raise TrialFailed(f"cannot save the trial's model under {self.study_dir.trial_dir(trial.number)}: {exc.strerror or exc}") from None
            trial.set_user_attr("model_path", str(self.study_dir.model_path(trial.number)))
        # A finished trial cannot be updated, so "dropped" is derived later from the file
        # being gone for a trial outside the top K (see results.py).
        for t in completed:
            if t.number not in keep and "model_path" in t.user_attrs:
                self.study_dir.drop_model(t.number)


def _auc_interval(labels: np.ndarray, scores: np.ndarray, patient_ids: np.ndarray) -> list[float] | None:
    """95% bootstrap interval of the AUC, resampling patients (seeded, so reproducible)."""
    interval = bootstrap_auc_ci(labels, scores, groups=patient_ids, n_boot=1000, seed=0)
    return None if interval is None else [float(interval[0]), float(interval[1])]


def _prediction_record(data: ImageSet, mask: np.ndarray, scores: np.ndarray) -> dict[str, list]:
    return {
        "indices": [int(i) for i in np.flatnonzero(mask)],
        "labels": [int(v) for v in data.labels[mask]],
        "scores": [float(v) for v in scores],
        "patient_ids": [str(v) for v in data.patient_ids[mask]],
    }


def json_ready(value: Any) -> Any:
    import dataclasses
    import json

    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)  # type: ignore[arg-type]
    return json.loads(json.dumps(value, default=float))
