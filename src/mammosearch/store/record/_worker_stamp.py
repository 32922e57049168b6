"""Who ran a trial: the host, the worker (a SLURM array task, a Kubernetes index, a `--workers` slot or a process) and when that worker started.

Written when a trial starts, beside Optuna's own start and end times, so `report` can say
how many trials each worker ran and how long it was busy or idle (``report/workers.py``).
A worker's processes (recycled children included) share one label and one start time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mammosearch.store.record._attributes import AttributeSink, set_user_attrs

HOST_KEY = "worker_host"
LABEL_KEY = "worker_label"
STARTED_KEY = "worker_started"  # seconds since the epoch, when the worker (not the trial) started


@dataclasses.dataclass(frozen=True)
class WorkerStamp:
    host: str
    label: str  # "slurm 1234_3", "k8s 2", "worker 0", "pid 4321"
    started: float


def stamp_attrs(stamp: WorkerStamp) -> dict[str, Any]:
    """The attributes ``stamp`` is stored as (the search writes them with the trial's first record, in one transaction)."""
    return {HOST_KEY: stamp.host, LABEL_KEY: stamp.label, STARTED_KEY: stamp.started}


def save_stamp(trial: AttributeSink, stamp: WorkerStamp) -> None:
    set_user_attrs(trial, stamp_attrs(stamp))  # one transaction for the three keys (store/attr_writes.py)


def stamp_of(attrs: Mapping[str, Any]) -> WorkerStamp | None:
    """The trial's stamp; None for a trial recorded before stamps were (or by the KerasTuner engine)."""
    host, label, started = attrs.get(HOST_KEY), attrs.get(LABEL_KEY), attrs.get(STARTED_KEY)
    if not isinstance(host, str) or not isinstance(label, str) or not isinstance(started, (int, float)):
        return None
    return WorkerStamp(host, label, float(started))
