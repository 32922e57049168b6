"""The study driver: sampler, pruner, storage, resume, the objective and its failures.

Order of events for ``mammosearch run``: validate everything that can be validated
(space, data, weights, storage) *before* the first trial, so a configuration error never
leaves a half-started study; then ask Optuna for trials until the study holds
``n_trials`` finished ones (complete, pruned or failed) or the timeout passes.
"""

from __future__ import annotations

import importlib.util
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import optuna

from mammosearch import runtime
from mammosearch.artifacts import StudyDir, write_atomically, write_json
from mammosearch.data.base import ImageSet
from mammosearch.data.images import resize_images
from mammosearch.data.loading import load_image_set
from mammosearch.errors import MammosearchError, SpaceError, TrialFailed
from mammosearch.metrics import bootstrap_auc_ci, evaluate_predictions
from mammosearch.params import TRANSFER_FAMILIES, TrialParams
from mammosearch.sampling import sample_params
from mammosearch.space import Space
from mammosearch.storage import mask_url, open_storage

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


class StudyListener(Protocol):
    """What the command line shows while a study runs."""

    def on_study_start(self, study_name: str, finished: int, n_trials: int | None, data_description: str) -> None: ...
    def on_trial_start(self, number: int, params: TrialParams) -> None: ...
    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None: ...
    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None: ...


@dataclass(frozen=True)
class RunOptions:
    storage_url: str
    results_dir: Path
    study_name: str | None = None
    tensorboard: bool = False
    precision: str = "float32"


@dataclass(frozen=True)
class RunSummary:
    study_name: str
    storage_url: str  # masked
    new_trials: int
    finished_trials: int
    best_number: int | None
    best_value: float | None
    data_description: str
    runtime: str


# ------------------------------------------------------------------ sampler and pruner


def make_sampler(space: Space) -> optuna.samplers.BaseSampler:
    study = space.study
    if study.sampler == "tpe":
        startup = min(10, max(3, (study.n_trials or 30) // 3))
        # group=True: conditional parameters (cnn_* vs head_*) are modelled per sub-space.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=study.seed, n_startup_trials=startup, multivariate=True, group=True)
    if study.sampler == "random":
        return optuna.samplers.RandomSampler(seed=study.seed)
    if study.sampler == "cmaes":
        # CMA-ES handles the continuous knobs; categorical ones fall back to random sampling.
        return optuna.samplers.CmaEsSampler(seed=study.seed, warn_independent_sampling=False)
    if study.sampler == "gp":
        if importlib.util.find_spec("torch") is None:
            raise SpaceError("study.sampler: 'gp' needs PyTorch; install it (pip install 'mammosearch[gp]') or use tpe")
        return optuna.samplers.GPSampler(seed=study.seed)
    raise SpaceError(f"study.sampler: unknown sampler {study.sampler!r}")


def max_epochs(space: Space) -> int:
    """The largest number of epochs any trial of the space can train (the pruners' resource)."""
    training = space.training

    def biggest(spec: Any) -> int:
        from mammosearch.params import Categorical, Fixed

        if isinstance(spec, Fixed):
            return int(spec.value)
        if isinstance(spec, Categorical):
            return int(max(spec.choices))  # type: ignore[type-var]
        return int(spec.high)

    fine_tune_possible = any(f in TRANSFER_FAMILIES for f in space.model.families) and _may_be_true(training.fine_tune)
    return biggest(training.epochs) + (biggest(training.fine_tune_epochs) if fine_tune_possible else 0)


def _may_be_true(spec: Any) -> bool:
    from mammosearch.params import Categorical, Fixed

    if isinstance(spec, Fixed):
        return bool(spec.value)
    return isinstance(spec, Categorical) and True in spec.choices


def make_pruner(space: Space) -> optuna.pruners.BasePruner:
    spec = space.study.pruner
    if spec.name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=spec.n_startup_trials, n_warmup_steps=spec.n_warmup_steps)
    if spec.name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=spec.min_resource, max_resource=max(max_epochs(space), spec.min_resource), reduction_factor=spec.reduction_factor
        )
    if spec.name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.min_resource, reduction_factor=spec.reduction_factor)
    return optuna.pruners.NopPruner()


# ------------------------------------------------------------------------ the objective


class Objective:
    """Builds, trains and evaluates one model per trial; records everything with the trial."""

    def __init__(self, space: Space, images: ImageSet, study_dir: StudyDir, listener: StudyListener | None, tensorboard: bool) -> None:
        self.space = space
        self.images = images
        self.study_dir = study_dir
        self.listener = listener
        self.tensorboard = tensorboard
        self._resized: dict[int, ImageSet] = {}

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
            )
        return self._resized[size]

    def __call__(self, trial: optuna.Trial) -> float:
        params = sample_params(trial, self.space)
        trial.set_user_attr("params", _json_ready(params))
        if self.listener is not None:
            self.listener.on_trial_start(trial.number, params)
        try:
            return self._train_and_evaluate(trial, params)
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

    def _train_and_evaluate(self, trial: optuna.Trial, params: TrialParams) -> float:
        import keras

        from mammosearch.models import build_model
        from mammosearch.pruning import PruningCallback
        from mammosearch.training import Arrays, fit_two_phase, predict_scores

        started = time.perf_counter()
        # A fresh graph per trial keeps metric names stable (val_auc, not val_auc_3)
        # and memory from piling up across trials.
        keras.backend.clear_session(free_memory=True)
        keras.utils.set_random_seed(self.space.study.seed * 10_007 + trial.number)
        data = self.data_at(params.input_size)
        train, val = data.subset("train"), data.subset("val")
        model = build_model(params, data.channels)
        callbacks: list[keras.callbacks.Callback] = [PruningCallback(trial)]
        if self.tensorboard:
            from mammosearch.tensorboard_logging import tensorboard_callbacks

            callbacks += tensorboard_callbacks(self.study_dir.tensorboard_dir(trial.number), params)
        fit_started = time.perf_counter()
        result = fit_two_phase(model, params, Arrays.of(train.images, train.labels), Arrays.of(val.images, val.labels), callbacks, self.listener)
        fit_seconds = time.perf_counter() - fit_started

        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("epochs_trained", result.epochs_trained)
        trial.set_user_attr("history", _json_ready(result.history))
        if result.unfrozen_with_weights is not None:
            trial.set_user_attr("unfrozen_with_weights", result.unfrozen_with_weights)

        predictions: dict[str, dict[str, list]] = {}
        val_scores = predict_scores(model, val.images, params.batch_size)
        val_metrics = evaluate_predictions(val.labels, val_scores)
        if val_metrics["auc"] is None or not math.isfinite(val_metrics["auc"]):
            raise TrialFailed("validation AUC is undefined (one class in the validation split)")
        val_metrics["auc_ci95"] = _auc_interval(val, val_scores)
        trial.set_user_attr("val_metrics", val_metrics)
        predictions["val"] = _prediction_record(val, val_scores)
        if data.has_split("test"):
            test = data.subset("test")
            test_scores = predict_scores(model, test.images, params.batch_size)
            # The validation-chosen threshold is applied to test: test never selects anything.
            test_metrics = evaluate_predictions(test.labels, test_scores, threshold=val_metrics["youden_threshold"])
            test_metrics["auc_ci95"] = _auc_interval(test, test_scores)
            trial.set_user_attr("test_metrics", test_metrics)
            predictions["test"] = _prediction_record(test, test_scores)

        self._keep_if_top_k(trial, model, float(val_metrics["auc"]), predictions)
        trial.set_user_attr("fit_seconds", round(fit_seconds, 3))
        trial.set_user_attr("trial_seconds", round(time.perf_counter() - started, 3))
        return float(val_metrics["auc"])

    def _keep_if_top_k(self, trial: optuna.Trial, model: Any, value: float, predictions: dict[str, Any]) -> None:
        """Save this trial's model when it ranks in the top K; drop models pushed out of it."""
        study = trial.study
        completed = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)) if t.value is not None]
        ranked = sorted([(t.value, -t.number) for t in completed] + [(value, -trial.number)], reverse=True)
        keep = {-n for _, n in ranked[: self.space.study.keep_top_k]}
        if trial.number in keep:
            try:
                write_json(self.study_dir.predictions_path(trial.number), predictions)
                write_atomically(self.study_dir.model_path(trial.number), lambda p: model.save(p))
            except OSError as exc:
                raise TrialFailed(f"cannot save the trial's model under {self.study_dir.trial_dir(trial.number)}: {exc.strerror or exc}") from None
            trial.set_user_attr("model_path", str(self.study_dir.model_path(trial.number)))
        # A finished trial cannot be updated, so "dropped" is derived later from the file
        # being gone for a trial outside the top K (see results.py).
        for t in completed:
            if t.number not in keep and "model_path" in t.user_attrs:
                self.study_dir.drop_model(t.number)


def _auc_interval(images: ImageSet, scores: np.ndarray) -> list[float] | None:
    """95% bootstrap interval of the AUC, resampling patients (seeded, so reproducible)."""
    interval = bootstrap_auc_ci(images.labels, scores, groups=images.patient_ids, n_boot=1000, seed=0)
    return None if interval is None else [float(interval[0]), float(interval[1])]


def _prediction_record(images: ImageSet, scores: np.ndarray) -> dict[str, list]:
    return {
        "labels": [int(v) for v in images.labels],
        "scores": [float(v) for v in scores],
        "patient_ids": [str(v) for v in images.patient_ids],
    }


def _json_ready(value: Any) -> Any:
    import dataclasses
    import json

    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)  # type: ignore[arg-type]
    return json.loads(json.dumps(value, default=float))


# --------------------------------------------------------------------------- the driver


def open_study(space: Space, options: RunOptions) -> optuna.Study:
    storage = open_storage(options.storage_url)
    name = options.study_name or space.study_name
    try:
        return optuna.create_study(
            storage=storage,
            study_name=name,
            direction="maximize",
            sampler=make_sampler(space),
            pruner=make_pruner(space),
            load_if_exists=True,
        )
    except MammosearchError:
        raise
    except Exception as exc:
        raise SpaceError(f"cannot create or load study '{name}' in {mask_url(options.storage_url)}: {exc}") from None


def preflight(space: Space) -> ImageSet:
    """Everything that would fail every trial fails here, once, before any trial starts."""
    make_sampler(space)
    for family, weights in space.model.weights.items():
        if weights == "imagenet":
            from mammosearch.models.backbones import ensure_imagenet_weights

            ensure_imagenet_weights(family)
    return load_image_set(space.data, space.split)


def run_study(space: Space, options: RunOptions, listener: StudyListener | None = None) -> RunSummary:
    runtime_line = runtime.configure(options.precision)
    images = preflight(space)
    study = open_study(space, options)
    study.set_user_attr("data_description", images.description)
    study.set_user_attr("space_source", space.source)
    study.set_user_attr("channels", images.channels)
    study.set_user_attr("results_dir", str(Path(options.results_dir).resolve()))
    study.set_user_attr("keep_top_k", space.study.keep_top_k)

    finished_before = len(study.get_trials(deepcopy=False, states=FINISHED))
    remaining = None if space.study.n_trials is None else max(0, space.study.n_trials - finished_before)
    study_dir = StudyDir(options.results_dir, study.study_name)
    objective = Objective(space, images, study_dir, listener, options.tensorboard)
    if listener is not None:
        listener.on_study_start(study.study_name, finished_before, space.study.n_trials, images.description)

    def report_end(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if listener is not None:
            listener.on_trial_end(trial)

    if remaining is None or remaining > 0:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=space.study.timeout,
            catch=(TrialFailed,),
            callbacks=[report_end],
            gc_after_trial=True,
        )
    finished = len(study.get_trials(deepcopy=False, states=FINISHED))
    best = _best_trial(study)
    return RunSummary(
        study_name=study.study_name,
        storage_url=mask_url(options.storage_url),
        new_trials=finished - finished_before,
        finished_trials=finished,
        best_number=None if best is None else best.number,
        best_value=None if best is None else best.value,
        data_description=images.description,
        runtime=runtime_line,
    )


def _best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None
