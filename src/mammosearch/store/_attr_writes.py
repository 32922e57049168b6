"""Several user attributes of one trial in one storage transaction (for store/record.py).

Optuna writes each ``trial.set_user_attr`` as a transaction of its own: on PostgreSQL a
read of the trial, an upsert and a commit (a disk flush on the server). A trial's record
is a dozen attributes written three times per trial, so on a shared PostgreSQL those
commits were a large part of a worker's time between trials (benchmarks/cluster_sim.py).
Here they go in one transaction per save. On PostgreSQL and SQLite that transaction is two
statements whatever the number of keys: Optuna's own check that the trial can still be
updated (``TrialModel.find_or_raise_by_id``, ``check_trial_is_updatable``), then the upsert
Optuna's ``_set_trial_attr_without_commit`` runs for one key, given every key as a row of
one multi-row ``INSERT .. ON CONFLICT (trial_id, key) DO UPDATE``, with the value as Optuna
serialises it (``json.dumps``); Optuna's per-key method re-read the trial before each key
(two statements a key, 28 per save of a trial's record). On MySQL the transaction runs
Optuna's per-key method. Any other storage (journal, in-memory), a future Optuna without
that method, or the KerasTuner engine's stand-in trial is written one key at a time by
store/record.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any, Protocol

import optuna


class AttributeSink(Protocol):
    """An Optuna trial, or the KerasTuner engine's stand-in for one."""

    def set_user_attr(self, key: str, value: Any) -> None: ...


def _relational_backend(trial: AttributeSink) -> Any | None:
    """The RDBStorage under ``trial`` when it can take a batch, else None."""
    if not isinstance(trial, optuna.trial.Trial):
        return None
    storage: Any = trial.storage
    backend = getattr(storage, "_backend", storage)  # _CachedStorage passes trial writes straight to its backend
    if not isinstance(backend, optuna.storages.RDBStorage) or not hasattr(backend, "_set_trial_attr_without_commit"):
        return None
    return backend


def _multi_row_insert(dialect: str) -> Any | None:
    """The dialect's INSERT that takes ON CONFLICT .. DO UPDATE (as Optuna uses it), or None (MySQL, an old SQLite)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    if dialect == "sqlite" and sqlite3.sqlite_version_info >= (3, 24, 0):  # upserts arrived in SQLite 3.24, as Optuna checks
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    return None


def write_in_one_transaction(trial: AttributeSink, attrs: Mapping[str, Any]) -> bool:
    """Write ``attrs`` to ``trial`` in one transaction and return True, or False (nothing written) where the storage cannot.

    The caller (store/record.py, the one module that writes trial attributes) then sets them one by one.
    """
    backend = _relational_backend(trial)
    if backend is None or len(attrs) < 2:
        return False
    from optuna.storages._rdb.models import TrialModel, TrialUserAttributeModel
    from optuna.storages._rdb.storage import _create_scoped_session

    assert isinstance(trial, optuna.trial.Trial)
    trial_id = trial._trial_id
    insert = _multi_row_insert(backend.engine.name)
    # ignore_integrity_error=True, as Optuna's set_trial_user_attr: an upsert racing another writer.
    with _create_scoped_session(backend.scoped_session, True) as session:
        if insert is None:
            for key, value in attrs.items():
                backend._set_trial_attr_without_commit(session, TrialUserAttributeModel, trial_id, key, value)
        else:
            backend.check_trial_is_updatable(trial_id, TrialModel.find_or_raise_by_id(trial_id, session).state)
            rows = insert(TrialUserAttributeModel).values([{"trial_id": trial_id, "key": key, "value_json": json.dumps(value)} for key, value in attrs.items()])
            session.execute(rows.on_conflict_do_update(
                index_elements=[TrialUserAttributeModel.trial_id, TrialUserAttributeModel.key],
                set_={"value_json": rows.excluded.value_json},
            ))
    # As Trial.set_user_attr does: this process's view of the trial sees its own writes.
    trial._cached_frozen_trial.user_attrs.update(attrs)
    return True
