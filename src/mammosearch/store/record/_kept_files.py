"""Where a study's kept files are in its artifact store: the store's URL and, per file, Optuna's artifact id.

Optuna's ``upload_artifact`` records each artifact under its file name alone (a system
attribute ``artifacts:<id>``); a kept trial has several files of one name (``model.keras``
of fold 1 and of ``folds/fold_2``), so the path inside the trial's folder is recorded here
too, as ``{relative path: artifact id}``:

- ``artifact_store`` (study): the URL the set-up recorded (``file:///shared/x``, ``s3://bucket/prefix``).
- ``kept_files`` (trial): the files uploaded while the trial ran (its model or head, predictions).
- ``kept_files:<number>`` (study): files added after the trial finished, whose own attributes
  can no longer change: the full model assembled from a kept head at the end of a run.
- ``study_files`` (study): the study's own files (``data/fingerprint.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mammosearch.store.record._attributes import AttributeSink

STORE_KEY = "artifact_store"
TRIAL_FILES_KEY = "kept_files"
ASSEMBLED_PREFIX = "kept_files:"
STUDY_FILES_KEY = "study_files"


def _files(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}


def recorded_store(study_attrs: Mapping[str, Any]) -> str | None:
    url = study_attrs.get(STORE_KEY)
    return url if isinstance(url, str) and url else None


def save_store(study: AttributeSink, url: str) -> None:
    study.set_user_attr(STORE_KEY, url)


def trial_files(trial_attrs: Mapping[str, Any], study_attrs: Mapping[str, Any], number: int) -> dict[str, str]:
    """Every kept file of trial ``number``: uploaded while it ran, then added after (an assembled model)."""
    return {**_files(trial_attrs.get(TRIAL_FILES_KEY)), **_files(study_attrs.get(f"{ASSEMBLED_PREFIX}{number}"))}


def save_trial_files(trial: AttributeSink, files: Mapping[str, str]) -> None:
    trial.set_user_attr(TRIAL_FILES_KEY, dict(files))


def save_assembled_files(study: AttributeSink, study_attrs: Mapping[str, Any], number: int, files: Mapping[str, str]) -> None:
    key = f"{ASSEMBLED_PREFIX}{number}"
    study.set_user_attr(key, {**_files(study_attrs.get(key)), **files})


def study_files(study_attrs: Mapping[str, Any]) -> dict[str, str]:
    return _files(study_attrs.get(STUDY_FILES_KEY))


def save_study_files(study: AttributeSink, files: Mapping[str, str]) -> None:
    study.set_user_attr(STUDY_FILES_KEY, dict(files))
