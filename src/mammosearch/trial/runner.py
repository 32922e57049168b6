"""One trial: build, train and evaluate a model (once, or once per cross-validation fold).

The runner fills the trial's :class:`TrialOutcome` as it goes: params, training path,
history, the metrics on validation (and test), the fold AUCs, timings. It does not write
anything: the search records the outcome (``store/record.py``) and, when the trial ranks
in the top K, calls the returned :class:`Trained.save_model` to keep its model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mammosearch.config import Space
from mammosearch.data import Fold, ImageSet, study_folds
from mammosearch.data.decode import images_at
from mammosearch.errors import MammosearchError, TrialFailed
from mammosearch.metrics import patient_auc_ci, score_split
from mammosearch.spec import CACHED, CACHED_VIEWS, EPOCH, FOLD, FULL, Trained, TrialOutcome, TrialParams
from mammosearch.trial._deepest_cut import FrozenPasses, deepest_unfrozen
from mammosearch.trial._events import EpochListener
from mammosearch.trial._extra_scores import FLIP, ExtraScores, prediction_record
from mammosearch.trial._fold_fit import FoldContext, FoldFit, fit_fold
from mammosearch.trial.activations import BATCH, ActivationCache, images_fingerprint
from mammosearch.trial.memory_plan import BatchCaps


class PruningTrial(Protocol):
    """What a trial needs from Optuna's trial: its number, and the pruner's two calls."""

    number: int

    def report(self, value: float, step: int) -> None: ...
    def should_prune(self) -> bool: ...


class TrialRunner:
    """Trains one trial's model(s) on a study's images; one runner serves every trial of a process."""

    def __init__(
        self,
        space: Space,
        images: ImageSet,
        listener: EpochListener | None = None,
        tensorboard_dir: Callable[[int], Path] | None = None,
        activation_dir: Path | None = None,
        deadline: float | None = None,
        caps: BatchCaps | None = None,
    ) -> None:
        self.space = space
        self.deadline = deadline  # the command's time budget, wall clock (mammosearch/deadline.py)
        self.caps = caps  # batch sizes within the memory budget (trial/memory_plan.py); None: as sampled
        self.images = images
        self.listener = listener
        self.tensorboard_dir = tensorboard_dir
        self._resized: dict[int | str, ImageSet] = {}
        self._fingerprints: dict[int | str, str] = {}
        self.activations = ActivationCache(activation_dir)
        self.activation_dir = activation_dir
        # Folds depend on labels and patients only, so they are fixed for the whole study.
        self.folds: list[Fold] = study_folds(images.labels, images.patient_ids, images.splits, space.evaluation.cv_folds, space.evaluation.seed)

    @property
    def step_unit(self) -> str:
        return FOLD if len(self.folds) > 1 else EPOCH

    def data_at(self, size: int | str) -> ImageSet:
        """The image set at the trial's input size (resized once per size, then reused)."""
        if size not in self._resized:
            images = self.images
            resized = images_at(images.images, size, self.activation_dir, lambda: self._images_key(images))
            self._resized[size] = images if resized is images.images else replace(images, images=resized)
        return self._resized[size]

    def _images_key(self, data: ImageSet) -> str:
        size = data.image_size
        if size not in self._fingerprints:
            self._fingerprints[size] = images_fingerprint(data.images)
        return self._fingerprints[size]

    def within_memory(self, params: TrialParams) -> TrialParams:
        """``params`` with the batch size capped to the memory budget, as the trial will train and record it."""
        return params if self.caps is None else self.caps.within(params)

    def training_path(self, params: TrialParams) -> str:
        """Cached activations where the frozen layers see every image the same way each epoch."""
        if not params.is_transfer or not self.space.training.cache_activations:
            return FULL
        if params.augmentation.enabled:
            return CACHED_VIEWS  # a fixed set of augmented views per image, their activations cached
        return CACHED

    def run(self, trial: PruningTrial, outcome: TrialOutcome) -> Trained:
        """Train and evaluate ``outcome.params``; fills ``outcome``. Raises ``TrialPruned`` or ``TrialFailed``."""
        import optuna

        try:
            return self._run(trial, outcome)
        except (optuna.TrialPruned, TrialFailed, MammosearchError):
            raise  # pruned; this trial failed; or fatal (configuration or data): stops the study
        except MemoryError:
            raise TrialFailed("out of memory; lower batch_size or input_size") from None
        except Exception as exc:
            # Anything else Keras or the backend raises (OOM as ResourceExhaustedError,
            # shape errors from an odd combination) fails this trial only.
            text = str(exc).strip().splitlines()
            reason = f"{type(exc).__name__}: {text[0] if text else ''}"[:500]
            if "ResourceExhausted" in reason or "OOM" in reason:
                reason += " (out of memory; lower batch_size or input_size)"
            raise TrialFailed(reason) from None

    def _run(self, trial: PruningTrial, outcome: TrialOutcome) -> Trained:
        import optuna

        params = outcome.params
        assert params is not None
        started = time.perf_counter()
        data = self.data_at(params.input_size)
        cv = len(self.folds) > 1
        fold_aucs: list[float] = []
        oof_scores = np.full(len(data.labels), np.nan)
        kept: FoldFit | None = None
        fit_seconds = 0.0
        outcome.training_path = self.training_path(params)
        log_dir = None if self.tensorboard_dir is None else self.tensorboard_dir(trial.number)
        frozen_batch = BATCH if self.caps is None else self.caps.frozen_batch(params.family, params.input_size)
        passes = FrozenPasses(self.activations, deepest_unfrozen(self.space), frozen_batch)
        context = FoldContext(
            self.listener, log_dir, passes, self._images_key,
            views=self.space.training.augmentation_views, activation_dir=self.activation_dir, deadline=self.deadline,
            feature_extraction=self.space.training.fine_tune.can_be(False),
        )
        extra = ExtraScores(data, self.space.evaluation.tta == FLIP, cv and self.space.study.keep_fold_models)
        for fold in self.folds:
            fitted = fit_fold(context, trial, outcome, data, fold, report_epochs=not cv, n_folds=len(self.folds))
            fit_seconds += fitted.seconds
            # Predicted during fitting, at the best epoch, with the weights now restored
            # (fit_two_phase fails the trial rather than return without them).
            scores = fitted.result.best_val_scores
            oof_scores[fold.val] = scores
            auc = score_split(data.labels[fold.val], scores).auc
            if auc is None or not math.isfinite(auc):
                raise TrialFailed(f"validation AUC is undefined in fold {fold.index + 1} (one class)")
            fold_aucs.append(float(auc))
            if fold.index == 0:
                # The first fold's model is the one kept and exported (trained on (k-1)/k of the pool).
                kept = fitted
                outcome.best_epoch = fitted.result.best_epoch
                outcome.epochs_trained = fitted.result.epochs_trained
                outcome.history = fitted.result.history
                outcome.unfrozen_with_weights = fitted.result.unfrozen_with_weights
            if cv:
                # Pruning on the running mean of the folds done so far, one step per fold; the
                # Wilcoxon pruner pairs fold k with the best trial's fold k, so it gets the fold's own AUC.
                running = float(np.mean(fold_aucs))
                trial.report(fold_aucs[-1] if self.space.study.pruner.name == "wilcoxon" else running, step=fold.index)
                if self.listener is not None:
                    self.listener.on_epoch(fold.index + 1, len(self.folds), {"val_auc": running})
                # Not after the last fold: the trial's work is done, and pruning it then would only throw its
                # result away (the Wilcoxon pruner did so to 4 of 5 trials in benchmarks/mias_wilcoxon.py).
                if fold.index < len(self.folds) - 1 and trial.should_prune():
                    raise optuna.TrialPruned(f"pruned after fold {fold.index + 1} with mean val_auc={running:.4f}")
            extra.add_fold(fold, fitted)  # not for a pruned trial: nobody reads its scores
        assert kept is not None

        scored = np.isfinite(oof_scores) if cv else self.folds[0].val
        val_metrics = replace(score_split(data.labels[scored], oof_scores[scored]),
                              auc_ci95=_pair(patient_auc_ci(data.labels[scored], oof_scores[scored], data.patient_ids[scored])))
        if cv:
            outcome.oof_scores = [round(float(v), 6) for v in oof_scores[scored]]
            val_metrics = replace(val_metrics, fold_aucs=tuple(fold_aucs), mean_fold_auc=float(np.mean(fold_aucs)),
                                  pooled="out-of-fold predictions of all folds")
        outcome.val_metrics = val_metrics

        first_val = self.folds[0].val
        predictions: dict[str, Any] = {"val": prediction_record(data, first_val, oof_scores[first_val])}
        if cv:
            predictions["out_of_fold"] = prediction_record(data, scored, oof_scores[scored])
        predictions.update(extra.records(oof_scores, first_val, scored if cv else None))
        if data.has_split("test"):
            test = data.splits == "test"
            test_scores = extra.test_scores[0] if extra.test_scores else kept.score(test)
            # The validation-chosen threshold is applied to test: test never selects anything.
            test_metrics = score_split(data.labels[test], test_scores, threshold=val_metrics.youden_threshold)
            outcome.test_metrics = replace(test_metrics, auc_ci95=_pair(patient_auc_ci(data.labels[test], test_scores, data.patient_ids[test])))
            predictions["test"] = prediction_record(data, test, test_scores)
        outcome.fit_seconds = round(fit_seconds, 3)
        outcome.trial_seconds = round(time.perf_counter() - started, 3)
        return Trained(kept.save_model, predictions, extra.fold_models)

    def objective_value(self, outcome: TrialOutcome) -> float:
        """What the study maximises: the validation AUC, or the mean fold AUC under CV."""
        folds = outcome.fold_aucs
        if folds:
            return float(np.mean(folds))
        auc = None if outcome.val_metrics is None else outcome.val_metrics.auc
        if auc is None:
            raise TrialFailed("validation AUC is undefined (the validation split holds one class)")
        return auc


def _pair(interval: list[float] | None) -> tuple[float, float] | None:
    return None if interval is None else (interval[0], interval[1])
