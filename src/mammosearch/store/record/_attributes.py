"""TrialOutcome <-> an Optuna trial's user attributes (and StudyContext <-> the study's): the only package that knows the keys (its sub-modules: one concept's keys each).

Values are stored as plain JSON (Optuna's requirement), so a study can be read by ``optuna trials``, the
dashboard, or any other tool; reading back is lenient: a trial written by hand or by an older version gives what it has.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from mammosearch.spec import EPOCH, SplitMetrics, TrialOutcome, TrialParams
from mammosearch.store._attr_writes import AttributeSink, write_in_one_transaction

# Every field of TrialOutcome is stored under its own name.
KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(TrialOutcome))


def json_ready(value: Any) -> Any:
    """Plain JSON types: typed metrics as their stored dicts, other dataclasses as dicts, numpy scalars as floats."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = value.to_record() if isinstance(value, SplitMetrics) else dataclasses.asdict(value)
    return json.loads(json.dumps(value, default=float))


def to_user_attrs(outcome: TrialOutcome) -> dict[str, Any]:
    """The attributes of ``outcome`` that are set (None and an empty history are left out)."""
    attrs: dict[str, Any] = {}
    for key in KEYS:
        value = getattr(outcome, key)
        if value is None or (key == "history" and not value):
            continue
        attrs[key] = json_ready(value)
    return attrs


def save(trial: AttributeSink, outcome: TrialOutcome, written: dict[str, Any] | None = None, also: Mapping[str, Any] | None = None) -> None:
    """Write ``outcome`` (and the attributes ``also``) to ``trial`` in one transaction; with ``written`` (what was saved before), only what changed."""
    changed = {key: value for key, value in to_user_attrs(outcome).items() if written is None or written.get(key) != value}
    set_user_attrs(trial, {**changed, **(also or {})})
    if written is not None:
        written.update(changed)


def set_user_attrs(trial: AttributeSink, attrs: Mapping[str, Any]) -> None:
    """Every item of ``attrs`` on ``trial``: in one transaction on a relational storage, else one by one."""
    if attrs and not write_in_one_transaction(trial, attrs):
        for key, value in attrs.items():
            trial.set_user_attr(key, value)


def _params(raw: Any) -> TrialParams | None:
    if not isinstance(raw, dict):
        return None
    try:
        return TrialParams.from_dict(raw)
    except (TypeError, KeyError):
        return None  # a foreign or partial record: the outcome carries no params


def from_user_attrs(attrs: Mapping[str, Any]) -> TrialOutcome:
    """The outcome stored in ``attrs`` (whatever is missing stays at its default)."""

    def number(key: str) -> int | None:
        value = attrs.get(key)
        return None if value is None else int(value)

    def seconds(key: str) -> float | None:
        value = attrs.get(key)
        return None if value is None else float(value)

    def text(key: str) -> str | None:
        value = attrs.get(key)
        return None if value is None else str(value)

    return TrialOutcome(
        params=_params(attrs.get("params")),
        step_unit=str(attrs.get("step_unit", EPOCH)),
        training_path=text("training_path"),
        activation_cut=text("activation_cut"),
        unfrozen_actual=number("unfrozen_actual"),
        unfrozen_with_weights=number("unfrozen_with_weights"),
        best_epoch=number("best_epoch"),
        epochs_trained=number("epochs_trained"),
        history=list(attrs.get("history") or []),
        oof_scores=None if attrs.get("oof_scores") is None else [float(v) for v in attrs["oof_scores"]],
        val_metrics=SplitMetrics.from_record(attrs.get("val_metrics")),
        test_metrics=SplitMetrics.from_record(attrs.get("test_metrics")),
        fit_seconds=seconds("fit_seconds"),
        trial_seconds=seconds("trial_seconds"),
        fail_reason=text("fail_reason"),
        stopped_by_budget=attrs.get("stopped_by_budget") is True or None,
        resumes_trial=number("resumes_trial"),
        model_path=text("model_path"),
        model_host=text("model_host"),
        engine=text("engine"),
        kerastuner_trial=text("kerastuner_trial"),
    )


def params_dict(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The stored params as a plain dict (also for records whose params do not parse)."""
    raw = attrs.get("params")
    return dict(raw) if isinstance(raw, dict) else {}


def failed_by_objective(attrs: Mapping[str, Any]) -> bool:
    """A FAIL trial whose objective recorded why (not one whose process died, nor one the time budget stopped)."""
    return attrs.get("fail_reason") is not None and attrs.get("stopped_by_budget") is not True


@dataclasses.dataclass(frozen=True)
class StudyContext:
    """What a run records about its study, for `report`, `export-best` and later runs."""

    data_description: str = ""
    data_notes: tuple[str, ...] = ()
    space_source: str = ""
    channels: int = 1
    results_dir: str = ""
    keep_top_k: int = 0
    engine: str | None = None
    decode_recipe: str = ""  # what was done to each file to get the pixels (data/decode/)
    fingerprint: dict[str, Any] | None = None  # the data fingerprint's summary (data/checks/)
    # Under cross-validation, the images the folds cover, in order: labels, patient ids, sources.
    cv_pool: dict[str, list[Any]] | None = None
    trivial_baseline: dict[str, Any] | None = None  # image statistics, on the study's folds (data/baselines.py)
    linear_probes: list[dict[str, Any]] | None = None  # pretrained backbones' pooled features (trial/probe.py)
    task: dict[str, Any] | None = None  # what label 0 and 1 mean (data/task.py Task.to_json)
    # The patients whose images trained or selected the models (train and validation splits,
    # or the CV pool); None when the data names no patients. `evaluate` refuses data sharing them.
    training_patients: list[str] | None = None
    split_seed: int | None = None
    patient_source: str | None = None  # where the patient ids come from (data/base.py ImageSet.patient_source)
    image_size: int | str | None = None  # data.image_size: the size the loader fitted to (a square's side, or "HxW"), before the model's input size
    photometry: str | None = None  # data.photometry: auto flips images that look inverted; predict must do the same
    framing: dict[str, Any] | None = None  # data.crop/orient/crop_margin as applied (data/decode/_framing.py Framing.to_json); predict does the same
    # What a trial means, flattened to {"key.path": value} (search/space_check.py), and each
    # time a run changed it with --extend-space: {"at", "finished_before", "changes"}.
    search_space: dict[str, str] | None = None
    space_extensions: list[dict[str, Any]] | None = None
    param_names: dict[str, str] | None = None  # {plain: versioned Optuna name} (trial/param_names.py); save_param_names only
    setup_data_key: str | None = None  # ImageSet.data_key of the set-up: children and workers open only a study set up for their data
    # A random id given to the study when its results folder is first claimed (store/ownership.py);
    # written by save_study_uid only, never by save_context (a fresh context leaves it None).
    study_uid: str | None = None


StudyAttributeSink = AttributeSink  # an Optuna study sets its attributes as a trial does


def save_context(study: StudyAttributeSink, context: StudyContext) -> None:
    for key, value in to_user_attrs_of(context).items():
        study.set_user_attr(key, value)


def to_user_attrs_of(context: StudyContext) -> dict[str, Any]:
    return {k: json_ready(v) for k, v in dataclasses.asdict(context).items() if v is not None}


def context_of(attrs: Mapping[str, Any]) -> StudyContext:
    engine = attrs.get("engine")
    return StudyContext(
        data_description=str(attrs.get("data_description", "")),
        data_notes=tuple(str(note) for note in attrs.get("data_notes", []) or []),
        space_source=str(attrs.get("space_source", "")),
        channels=int(attrs.get("channels", 1)),
        results_dir=str(attrs.get("results_dir", "")),
        keep_top_k=int(attrs.get("keep_top_k", 0)),
        engine=None if engine is None else str(engine),
        decode_recipe=str(attrs.get("decode_recipe", "")),
        fingerprint=attrs.get("fingerprint"),
        cv_pool=attrs.get("cv_pool"),
        trivial_baseline=attrs.get("trivial_baseline"),
        linear_probes=attrs.get("linear_probes"),
        task=attrs.get("task"),
        training_patients=attrs.get("training_patients"),
        split_seed=attrs.get("split_seed"),
        patient_source=attrs.get("patient_source"),
        photometry=attrs.get("photometry"), image_size=attrs.get("image_size"), framing=attrs.get("framing"),
        search_space=attrs.get("search_space"),
        space_extensions=attrs.get("space_extensions"),
        param_names=param_names_of(attrs) or None,
        setup_data_key=attrs.get("setup_data_key"),
        study_uid=study_uid_of(attrs),
    )


# --- Which study a results folder belongs to ---------------------------------------------
# The name is not enough: two storages can each hold a study called "demo", and a study
# deleted and created again under its old name starts its trial numbers at 0 again.
STUDY_UID_KEY = "study_uid"


def study_uid_of(attrs: Mapping[str, Any]) -> str | None:
    raw = attrs.get(STUDY_UID_KEY)
    return raw if isinstance(raw, str) and raw else None


def save_study_uid(study: StudyAttributeSink, uid: str) -> None:
    study.set_user_attr(STUDY_UID_KEY, uid)


def save_linear_probes(study: StudyAttributeSink, probes: list[dict[str, Any]]) -> None:
    study.set_user_attr("linear_probes", json_ready(probes))


def save_search_space(study: StudyAttributeSink, space: dict[str, str], extensions: list[dict[str, Any]] | None) -> None:
    """The study's search space and its --extend-space history (apart from save_context, which every run calls)."""
    study.set_user_attr("search_space", json_ready(space))
    if extensions:
        study.set_user_attr("space_extensions", json_ready(extensions))


PARAM_NAMES_KEY = "param_names"


def param_names_of(attrs: Mapping[str, Any]) -> dict[str, str]:
    """The study's versioned parameter names ({} when none was ever needed, or the value is malformed)."""
    raw = attrs.get(PARAM_NAMES_KEY)
    return {str(k): v for k, v in raw.items() if isinstance(v, str)} if isinstance(raw, dict) else {}


def save_param_names(study: StudyAttributeSink, names: Mapping[str, str]) -> None:
    study.set_user_attr(PARAM_NAMES_KEY, dict(names))


# --- How the study's last run ended ------------------------------------------------------
# Kept apart from StudyContext: the context is written once when a study is prepared, this
# is overwritten at the end of every run, so a run that later finishes the budget clears an
# earlier "stopped by --timeout".
RUN_END_KEY = "last_run_end"
STOPPED_BY_TIMEOUT = "timeout"
STOPPED_BY_BUDGET = "trials"


@dataclasses.dataclass(frozen=True)
class RunEnd:
    """Why the last run stopped: its time budget (``--timeout``/study.timeout) or its trial budget."""

    stopped_by: str  # STOPPED_BY_TIMEOUT or STOPPED_BY_BUDGET
    timeout_seconds: float | None = None
    finished_trials: int | None = None  # trials finished in the study when it stopped

    @property
    def timed_out(self) -> bool:
        return self.stopped_by == STOPPED_BY_TIMEOUT


def save_run_end(study: StudyAttributeSink, end: RunEnd) -> None:
    study.set_user_attr(RUN_END_KEY, json_ready(end))


def run_end_of(attrs: Mapping[str, Any]) -> RunEnd | None:
    """The last run's end as recorded (None for a study no run recorded it for, or a malformed value)."""
    raw = attrs.get(RUN_END_KEY)
    if not isinstance(raw, dict) or not isinstance(raw.get("stopped_by"), str):
        return None
    timeout, finished = raw.get("timeout_seconds"), raw.get("finished_trials")
    return RunEnd(
        stopped_by=raw["stopped_by"],
        timeout_seconds=None if timeout is None else float(timeout),
        finished_trials=None if finished is None else int(finished),
    )


# --- How a trial's parameters were drawn ---------------------------------------------------
# Beside the outcome (not a TrialOutcome field): ``sampling_attrs`` are written by the search
# with the trial's first record (``save``'s ``also``, one transaction), whatever engine trains it.
SAMPLER_SEED_KEY = "sampler_seed"
WORKER_KEY = "worker"  # the worker number under `run --workers N` (0..N-1)
PROCESS_KEY = "process"  # host:pid of the process that drew and trained the trial


@dataclasses.dataclass(frozen=True)
class Sampling:
    """The seed trial's parameters were drawn with, and which process drew them."""

    sampler_seed: int
    process: str
    worker: int | None = None


def sampling_attrs(sampling: Sampling) -> dict[str, Any]:
    attrs: dict[str, Any] = {SAMPLER_SEED_KEY: sampling.sampler_seed, PROCESS_KEY: sampling.process}
    if sampling.worker is not None:
        attrs[WORKER_KEY] = sampling.worker
    return attrs


def sampling_of(attrs: Mapping[str, Any]) -> Sampling | None:
    """The trial's recorded sampling (None for a trial recorded before seeds were per trial)."""
    seed, worker = attrs.get(SAMPLER_SEED_KEY), attrs.get(WORKER_KEY)
    if seed is None:
        return None
    return Sampling(int(seed), str(attrs.get(PROCESS_KEY, "")), None if worker is None else int(worker))
