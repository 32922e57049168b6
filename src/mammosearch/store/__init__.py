"""Where a study lives: the Optuna storage, trial records, result files and the kept models."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what mypy and a reader see; at run time each name loads on first use (mammosearch/lazy.py)
    from mammosearch.store.artifacts import StudyDir, safe_name
    from mammosearch.store.budget_stops import requeue, stopped_by_budget, waiting_resumes
    from mammosearch.store.heartbeat import fail_stale_trials, requeue_stopped
    from mammosearch.store.journal import is_journal
    from mammosearch.store.kept_models import assemble_pending, fold_dirs, is_pending, keep_if_top_k, sweep_dropped
    from mammosearch.store.ownership import check_model_owner, claimed_study_dir, owned_study_dir
    from mammosearch.store.results import StudyRecord, TrialRow, load_study
    from mammosearch.store.running import running_note, running_numbers
    from mammosearch.store.storage import absolute_storage, default_storage, mask_url, open_storage
else:
    from mammosearch.lazy import lazy_attributes

    __getattr__, __dir__ = lazy_attributes(
        __name__,
        {
            "artifacts": ("StudyDir", "safe_name"),
            "budget_stops": ("requeue", "stopped_by_budget", "waiting_resumes"),
            "heartbeat": ("fail_stale_trials", "requeue_stopped"),
            "journal": ("is_journal",),
            "kept_models": ("assemble_pending", "fold_dirs", "is_pending", "keep_if_top_k", "sweep_dropped"),
            "ownership": ("check_model_owner", "claimed_study_dir", "owned_study_dir"),
            "results": ("StudyRecord", "TrialRow", "load_study"),
            "running": ("running_note", "running_numbers"),
            "storage": ("absolute_storage", "default_storage", "mask_url", "open_storage"),
        },
    )

__all__ = [
    "StudyDir",
    "StudyRecord",
    "TrialRow",
    "absolute_storage",
    "assemble_pending",
    "check_model_owner",
    "claimed_study_dir",
    "default_storage",
    "fail_stale_trials",
    "fold_dirs",
    "is_journal",
    "is_pending",
    "keep_if_top_k",
    "load_study",
    "mask_url",
    "open_storage",
    "owned_study_dir",
    "requeue",
    "requeue_stopped",
    "running_note",
    "running_numbers",
    "safe_name",
    "stopped_by_budget",
    "sweep_dropped",
    "waiting_resumes",
]
