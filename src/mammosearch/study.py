"""The study driver: sampler, pruner, storage, resume, the objective and its failures.

Order of events for ``mammosearch run``: validate everything that can be validated
(space, data, weights, storage) *before* the first trial, so a configuration error never
leaves a half-started study; then ask Optuna for trials until the study holds
``n_trials`` finished ones (complete, pruned or failed) or the timeout passes.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from mammosearch import runtime
from mammosearch.artifacts import StudyDir
from mammosearch.data.base import ImageSet
from mammosearch.data.loading import load_image_set
from mammosearch.errors import MammosearchError, SpaceError, TrialFailed
from mammosearch.objective import Objective, StudyListener
from mammosearch.params import TRANSFER_FAMILIES
from mammosearch.space import Space
from mammosearch.storage import mask_url, open_storage

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards ``n_trials``: complete, pruned, and failed by the objective.

    A trial failed because its process died (stale heartbeat) does not count: its
    parameters are retried by another trial, which does.
    """
    count = 0
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        if trial.state != optuna.trial.TrialState.FAIL or "fail_reason" in trial.user_attrs:
            count += 1
    return count


@dataclass(frozen=True)
class RunOptions:
    storage_url: str
    results_dir: Path
    study_name: str | None = None
    tensorboard: bool = False
    precision: str = "float32"
    heartbeat: int | None = 60  # seconds; None turns crash detection off
    trials_per_process: int | None = 20  # recycle the training process this often; None: all in-process
    # Assemble the kept heads' full models when the trials are done. A recycled child that
    # is not the run's last leaves them to the last one (each assembly builds and writes a
    # whole backbone, seconds during which no trial runs).
    assemble_at_end: bool = True


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
    notes: tuple[str, ...] = ()


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
        # The resource is epochs, or folds when cross-validating (one report per fold).
        resource = space.evaluation.cv_folds or max_epochs(space)
        return optuna.pruners.HyperbandPruner(
            min_resource=spec.min_resource, max_resource=max(resource, spec.min_resource), reduction_factor=spec.reduction_factor
        )
    if spec.name == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.min_resource, reduction_factor=spec.reduction_factor)
    return optuna.pruners.NopPruner()


# --------------------------------------------------------------------------- the driver


def open_study(space: Space, options: RunOptions) -> optuna.Study:
    storage = open_storage(options.storage_url, heartbeat=options.heartbeat)
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


def preflight(space: Space, cache_dir: Path | None = None) -> ImageSet:
    """Everything that would fail every trial fails here, once, before any trial starts."""
    make_sampler(space)
    for family, weights in space.model.weights.items():
        if weights == "imagenet":
            from mammosearch.imagenet_weights import ensure_imagenet_weights

            ensure_imagenet_weights(family)
    return load_image_set(space.data, space.split, cache_dir=cache_dir)


def record_context(study: optuna.Study, space: Space, images: ImageSet, options: RunOptions) -> None:
    """What `report` and `export-best` need to know about the data and the space."""
    study.set_user_attr("data_description", images.description)
    study.set_user_attr("data_notes", list(images.notes))
    study.set_user_attr("space_source", space.source)
    study.set_user_attr("channels", images.channels)
    study.set_user_attr("results_dir", str(Path(options.results_dir).resolve()))
    study.set_user_attr("keep_top_k", space.study.keep_top_k)


def summarize(study: optuna.Study, options: RunOptions, images: ImageSet, finished_before: int, runtime_line: str) -> RunSummary:
    finished = finished_trials(study)
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
        notes=images.notes,
    )


def run_study(space: Space, options: RunOptions, listener: StudyListener | None = None) -> RunSummary:
    if options.precision not in runtime.PRECISIONS:
        raise SpaceError(f"--precision: unknown value {options.precision!r} (allowed: {', '.join(runtime.PRECISIONS)})")
    images = preflight(space, Path(options.results_dir) / "cache")
    study = open_study(space, options)
    record_context(study, space, images, options)

    finished_before = finished_trials(study)
    remaining = None if space.study.n_trials is None else max(0, space.study.n_trials - finished_before)
    if listener is not None:
        listener.on_study_start(study.study_name, finished_before, space.study.n_trials, images.description, images.notes)

    if options.trials_per_process is not None and (remaining is None or remaining > options.trials_per_process):
        from mammosearch.recycling import run_recycled

        # This process only coordinates: TensorFlow is loaded by the training processes
        # alone (its import is ~4 s of start-up and ~0.5 GB this process does not need).
        runtime_line = run_recycled(space, options, study, listener, finished_trials)
        return summarize(study, options, images, finished_before, runtime_line)

    runtime_line = runtime.configure(options.precision)
    study_dir = StudyDir(options.results_dir, study.study_name)
    objective = Objective(space, images, study_dir, listener, options.tensorboard, Path(options.results_dir) / "cache" / "activations")
    runtime.freeze_long_lived_objects()

    def report_end(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if listener is not None:
            listener.on_trial_end(trial)
        # Other workers add trials too: stop once the shared budget is spent.
        if space.study.n_trials is not None and finished_trials(study_) >= space.study.n_trials:
            study_.stop()

    if remaining is None or remaining > 0:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=space.study.timeout,
            catch=(TrialFailed,),
            callbacks=[report_end],
            gc_after_trial=True,
        )
        if options.assemble_at_end:
            from mammosearch.kept_models import assemble_pending

            assemble_pending(study, study_dir)  # full models of the heads kept on cached activations
    return summarize(study, options, images, finished_before, runtime_line)


def _best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None
