"""Several user attributes of one trial in one storage transaction (for store/record.py).

Optuna writes each ``trial.set_user_attr`` as a transaction of its own: on PostgreSQL a
read of the trial, an upsert and a commit (a disk flush on the server). A trial's record
is a dozen attributes written three times per trial, so on a shared PostgreSQL those
commits were a large part of a worker's time between trials (benchmarks/cluster_sim.py).
Here they go in one transaction per save, through the statements Optuna's own
``set_trial_user_attr`` runs (its ``_set_trial_attr_without_commit``), so what is stored is
exactly what Optuna stores. Any other storage (journal, in-memory), a future Optuna
without that method, or the KerasTuner engine's stand-in trial is written one key at a time
by store/record.py.
"""

from __future__ import annotations

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


def write_in_one_transaction(trial: AttributeSink, attrs: Mapping[str, Any]) -> bool:
    """Write ``attrs`` to ``trial`` in one transaction and return True, or False (nothing written) where the storage cannot.

    The caller (store/record.py, the one module that writes trial attributes) then sets them one by one.
    """
    backend = _relational_backend(trial)
    if backend is None or len(attrs) < 2:
        return False
    from optuna.storages._rdb.models import TrialUserAttributeModel
    from optuna.storages._rdb.storage import _create_scoped_session

    assert isinstance(trial, optuna.trial.Trial)
    trial_id = trial._trial_id
    # ignore_integrity_error=True, as Optuna's set_trial_user_attr: an upsert racing another writer.
    with _create_scoped_session(backend.scoped_session, True) as session:
        for key, value in attrs.items():
            backend._set_trial_attr_without_commit(session, TrialUserAttributeModel, trial_id, key, value)
    # As Trial.set_user_attr does: this process's view of the trial sees its own writes.
    trial._cached_frozen_trial.user_attrs.update(attrs)
    return True
