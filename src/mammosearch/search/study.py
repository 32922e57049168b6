"""Setting a study up, once, the same way for every engine, and summing it up afterwards.

The set-up stage (``setup_study``, as nnU-Net's experiment planning comes before its
training): everything that would fail every trial fails here, once, before any trial
starts (sampler, ImageNet weights, data, storage); the data fingerprint, the space check,
the trivial baseline and the CV pool are computed and recorded with the study, which is
then marked as set up for its data (``StudyContext.setup_data_key``). Recycled children
and ``--workers`` processes never run it: they open the prepared study (``opened.py``).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna

from mammosearch import runtime
from mammosearch.config import Space, space_to_json
from mammosearch.data import ImageSet, load_image_set, max_pixels, source
from mammosearch.data.arrays import in_memory_bytes
from mammosearch.data.checks import cached_fingerprint, summary_of
from mammosearch.data.decode import RECIPE
from mammosearch.errors import MammosearchError, SpaceError
from mammosearch.files import write_json
from mammosearch.metrics import baseline_verdict, selection_figures
from mammosearch.progress import stage
from mammosearch.search._space_check import extension_notes, record_space, settle_space
from mammosearch.search.options import ALGORITHMS, ENGINES, RunOptions, RunSummary
from mammosearch.search.samplers import make_pruner, make_sampler
from mammosearch.store import claimed_study_dir, mask_url, open_storage, running_note, running_numbers, waiting_resumes
from mammosearch.store.artifact_store import open_artifact_store, parse_location, set_up_store
from mammosearch.store.record import StudyContext, WorkerOrder, context_of, failed_by_objective, from_user_attrs, order_of, save_context, save_order

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


def finished_trials(study: optuna.Study) -> int:
    """Trials that count towards ``n_trials``: complete, pruned, and failed by the objective.

    A trial failed because its process died (stale heartbeat) does not count: its
    parameters are retried by another trial, which does.
    """
    count = 0
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        if trial.state != optuna.trial.TrialState.FAIL or failed_by_objective(trial.user_attrs):
            count += 1
    return count


@dataclass(frozen=True)
class Prepared:
    """A study ready for trials: its data and their fingerprint, and how many trials it held before this run."""

    study: optuna.Study
    images: ImageSet
    finished_before: int
    fingerprint: dict[str, Any]

    @property
    def notes(self) -> tuple[str, ...]:
        """What the loader and the data fingerprint want the user to know before training starts."""
        return tuple(self.images.notes) + tuple(self.fingerprint.get("warnings", []))

    def remaining(self, space: Space) -> int | None:
        """Trials still to run in this study's budget (None: no trial budget, only a timeout)."""
        return None if space.study.n_trials is None else max(0, space.study.n_trials - self.finished_before)


def check_options(options: RunOptions) -> None:
    if options.precision not in runtime.PRECISIONS:
        raise SpaceError(f"--precision: unknown value {options.precision!r} (allowed: {', '.join(runtime.PRECISIONS)})")
    if options.engine not in ENGINES:
        raise SpaceError(f"--engine: unknown value {options.engine!r} (allowed: {', '.join(ENGINES)})")
    if options.algorithm not in ALGORITHMS:
        raise SpaceError(f"--algorithm: unknown value {options.algorithm!r} (allowed: {', '.join(ALGORITHMS)})")


def preflight(space: Space, cache_dir: Path | None = None) -> ImageSet:
    """Everything that would fail every trial fails here, once, before any trial starts."""
    make_sampler(space)
    in_memory_bytes()  # a malformed MAMMOSEARCH_IN_MEMORY_MB is one line now, not in the first trial
    max_pixels()  # and a malformed MAMMOSEARCH_MAX_PIXELS, not at the first file decoded
    from mammosearch.models import check_weights_file, ensure_imagenet_weights

    for family, weights in space.model.weights.items():
        if weights == "imagenet":
            ensure_imagenet_weights(family)
        elif weights is not None:
            check_weights_file(Path(weights), family, f"model.weights.{family}")
    with stage("load data"):  # decoding, on a first run; the cache of decoded images after
        return load_image_set(space.data, space.split, cache_dir=cache_dir, checks=space.checks)


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
        raise SpaceError(f"cannot create or load study '{name}' in {mask_url(options.storage_url)}: {mask_url(str(exc), options.storage_url)}") from None


def record_context(study: optuna.Study, space: Space, images: ImageSet, options: RunOptions, fingerprint: dict[str, Any]) -> None:
    """What `report` and `export-best` need to know about the data and the space."""
    # The first write into the study's folder: claims it for this study (or refuses another's) before any trial.
    study_dir = claimed_study_dir(options.results_dir, study)
    write_json(study_dir.data_dir() / "fingerprint.json", fingerprint)
    set_up_store(study, options.artifacts_url, study_dir)  # with --artifacts (or one recorded): checked, recorded, the fingerprint uploaded
    save_context(study, StudyContext(
        data_description=images.description,
        data_notes=images.notes + tuple(fingerprint.get("warnings", [])),
        space_source=space.source,
        channels=images.channels,
        results_dir=str(Path(options.results_dir).resolve()),
        keep_top_k=space.study.keep_top_k,
        engine=f"kerastuner/{options.algorithm}" if options.engine == "kerastuner" else None,
        decode_recipe=RECIPE,
        fingerprint=summary_of(fingerprint),
        cv_pool=_cv_pool(images) if space.evaluation.cv_folds else None,
        trivial_baseline=_trivial_baseline(space, images, context_of(study.user_attrs)),
        task=images.task.to_json(),
        training_patients=sorted({str(p) for p in images.patient_ids[images.splits != "test"]}) if images.carries_patients else None,
        split_seed=space.split.seed,
        patient_source=images.patient_source,
        # Generated images were never checked (nothing was flipped): a model of them must not
        # flip either when it later scores files, where the heuristic can misfire on a phantom.
        photometry=space.checks.photometry if source(space.data.source).files is not None else "as_is",
        image_size=images.image_size,
        framing=source(space.data.source).framing(space.data).to_json(),
        setup_data_key=images.data_key,  # the last key written: the study is set up for these data
    ))


def _trivial_baseline(space: Space, images: ImageSet, recorded: StudyContext) -> dict[str, Any] | None:
    """Image and acquisition statistics, fitted and scored on the very folds the trials use.

    Computed once per study: a resumed study on the same data keeps the figure it recorded
    first, so the run summary, `report` and the model card quote one number.
    """
    from mammosearch.data import evaluated_on, trivial_baseline

    kept = recorded.trivial_baseline
    if kept and recorded.data_description == images.description and kept.get("evaluated_on") == evaluated_on(space.evaluation.cv_folds):
        return kept
    with stage("trivial baseline"):
        return trivial_baseline(images, space.evaluation.cv_folds, space.evaluation.seed)


def _cv_pool(images: ImageSet) -> dict[str, list[Any]]:
    """The images cross-validation folds cover (all but the held-out test split), in data order."""
    pool = images.splits != "test"
    return {
        "labels": [int(v) for v in images.labels[pool]],
        "patient_ids": [str(v) for v in images.patient_ids[pool]],
        "sources": [str(v) for v in images.sources[pool]],
    }


# Only tests set it: each set-up execution appends a line (pid and study) to this file, so a
# test can count set-ups across the processes of one run (tests/search/test_setup_once.py).
SETUP_LOG_ENV = "MAMMOSEARCH_SETUP_LOG"


def _log_setup(name: str) -> None:
    path = os.environ.get(SETUP_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {name}\n")


def setup_study(space: Space, options: RunOptions) -> Prepared:
    """Preflight, open or create the study, record its context: the set-up every engine shares, run once per run."""
    check_options(options)
    if options.artifacts_url:  # a bad --artifacts is one line before the data are read or the study is created
        open_artifact_store(parse_location(options.artifacts_url), writing=True)
    _log_setup(options.study_name or space.study_name)
    with stage("set-up"):
        return _set_up(space, options)


def _set_up(space: Space, options: RunOptions) -> Prepared:
    cache = Path(options.results_dir) / "cache"
    images = preflight(space, cache)
    with stage("fingerprint"):  # the data checks; read back from the cache for data fingerprinted before
        fingerprint = cached_fingerprint(images, space.checks, cache)
    # After the data checks (a bad data path is reported as such), before anything else is
    # written: a new study is created here with its space recorded, atomically (space_check.py).
    with stage("open study"):
        space_check = settle_space(space, options, options.study_name or space.study_name)
        study = open_study(space, options)
    record_context(study, space, images, options, fingerprint)
    finished_before = finished_trials(study)
    record_space(study, space_check, finished_before)
    record_order(study, space, options)  # last: a study holding an order is ready for workers
    return Prepared(study, images, finished_before, fingerprint)


def record_order(study: optuna.Study, space: Space, options: RunOptions) -> None:
    """What `mammosearch worker` (and each `run --workers` process) rebuilds its run from: the space and the shared options.

    A new order each time, numbered after the last: running workers notice it between trials (``order_watch.py``).
    """
    previous = order_of(study.user_attrs)
    save_order(study, WorkerOrder(
        space=space_to_json(space),
        results_dir=str(Path(options.results_dir).resolve()),
        precision=options.precision,
        tensorboard=options.tensorboard,
        heartbeat=options.heartbeat,
        trials_per_process=options.trials_per_process,
        engine=options.engine,
        set_up_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        epoch=(previous.epoch if previous is not None else 0) + 1,
        token=uuid.uuid4().hex,
    ))


def engine_study_name(space: Space, options: RunOptions) -> RunOptions:
    """The KerasTuner engine keeps its trials in a study of its own, next to the Optuna one."""
    if options.engine != "kerastuner" or options.study_name:
        return options
    return replace(options, study_name=f"{space.study_name}-kerastuner-{options.algorithm}")


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:
        return None


def summarize(study: optuna.Study, options: RunOptions, finished_before: int, runtime_line: str) -> RunSummary:
    finished = finished_trials(study)
    best = best_trial(study)
    context = context_of(study.user_attrs)
    metrics = None if best is None else from_user_attrs(best.user_attrs).val_metrics
    return RunSummary(
        study_name=study.study_name,
        storage_url=mask_url(options.storage_url),
        new_trials=finished - finished_before,
        finished_trials=finished,
        best_number=None if best is None else best.number,
        best_value=None if best is None else best.value,
        data_description=context.data_description,
        runtime=runtime_line,
        notes=context.data_notes + extension_notes(context.space_extensions)
        + tuple(note for note in [running_note(running_numbers(study))] if note),  # a killed run's leftovers, with the hint
        best_figures=() if best is None else tuple(selection_figures(metrics, best.value)),
        baseline_verdict=baseline_verdict(metrics, context.trivial_baseline),
        stopped_by_budget=waiting_resumes(study),
    )
