"""What a study's workers run, recorded in the study by its set-up: the one thing a cluster worker reads.

``mammosearch worker --storage URL --study NAME`` starts on any node knowing nothing else.
The set-up (``search/study.py::setup_study``, by ``run`` or ``run --setup-only``) writes
here, last, the space it set the study up with (as JSON, ``config/space_json.py``) and the
run options a worker must share (precision, heartbeat, recycling, TensorBoard, the results
folder): a study that holds an order is ready for workers. The latest set-up's order wins,
so a later ``run --n-trials 50`` raises the budget every worker then works towards.

Each set-up's order is new: ``epoch`` counts the set-ups (1, 2, ...; for people) and
``token`` tells two orders apart (for workers: two set-ups within one second may both
count the same epoch). A running worker compares the token between trials and goes on
under the new order (``search/order_watch.py``) rather than run one more trial under the old.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from mammosearch.store.record import StudyAttributeSink

ORDER_KEY = "worker_order"


@dataclasses.dataclass(frozen=True)
class WorkerOrder:
    space: dict[str, Any]  # config/space_json.py's record of the set-up's space, budget included
    results_dir: str  # absolute, as the set-up saw it; a worker may be given another path to the same folder
    precision: str = "float32"
    tensorboard: bool = False
    heartbeat: int | None = 60
    trials_per_process: int | None = 20
    engine: str = "optuna"
    set_up_at: str = ""  # ISO time of the set-up that wrote this order
    epoch: int = 0  # the how-manyth set-up of the study wrote it (0: a version that did not count)
    token: str = ""  # unique to the set-up that wrote it

    def describe(self) -> str:
        return f"set-up {self.epoch or '?'} of {self.set_up_at or 'an unknown time'}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def save_order(study: StudyAttributeSink, order: WorkerOrder) -> None:
    study.set_user_attr(ORDER_KEY, order.to_json())


def order_of(attrs: Mapping[str, Any]) -> WorkerOrder | None:
    """The study's worker order; None for a study no set-up of this version has prepared."""
    raw = attrs.get(ORDER_KEY)
    if not isinstance(raw, dict) or not isinstance(raw.get("space"), dict) or not isinstance(raw.get("results_dir"), str):
        return None
    known = {f.name for f in dataclasses.fields(WorkerOrder)}
    return WorkerOrder(**{k: v for k, v in raw.items() if k in known})
