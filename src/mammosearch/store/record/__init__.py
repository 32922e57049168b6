"""TrialOutcome <-> an Optuna trial's user attributes (and StudyContext <-> the study's): the only package that knows the keys (its sub-modules: one concept's keys each).

Values are stored as plain JSON (Optuna's requirement), so a study can be read by ``optuna trials``, the
dashboard, or any other tool; reading back is lenient: a trial written by hand or by an older version gives what it has."""

from mammosearch.store.record._attributes import (
    RUN_END_KEY,
    STOPPED_BY_BUDGET,
    STOPPED_BY_TIMEOUT,
    RunEnd,
    Sampling,
    StudyContext,
    context_of,
    failed_by_objective,
    from_user_attrs,
    param_names_of,
    params_dict,
    run_end_of,
    sampling_of,
    save,
    save_context,
    save_linear_probes,
    save_param_names,
    save_run_end,
    save_sampling,
    save_search_space,
    save_study_uid,
    study_uid_of,
    to_user_attrs,
)
from mammosearch.store.record._worker_order import WorkerOrder, order_of, save_order
from mammosearch.store.record._worker_stamp import WorkerStamp, save_stamp, stamp_of

__all__ = [
    "RUN_END_KEY",
    "RunEnd",
    "STOPPED_BY_BUDGET",
    "STOPPED_BY_TIMEOUT",
    "Sampling",
    "StudyContext",
    "WorkerOrder",
    "WorkerStamp",
    "context_of",
    "failed_by_objective",
    "from_user_attrs",
    "order_of",
    "param_names_of",
    "params_dict",
    "run_end_of",
    "sampling_of",
    "save",
    "save_context",
    "save_linear_probes",
    "save_order",
    "save_param_names",
    "save_run_end",
    "save_sampling",
    "save_search_space",
    "save_stamp",
    "save_study_uid",
    "stamp_of",
    "study_uid_of",
    "to_user_attrs",
]
