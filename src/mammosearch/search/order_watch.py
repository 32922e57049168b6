"""A worker notices, between trials, that its study was set up again, and goes on under the new order.

A second ``run --setup-only`` (or ``run``) while workers run records a new order: a larger
budget, an extended space (``--extend-space``), other precision or heartbeat. A worker
rebuilt its run from the order when it started (``joining.py``); without a look between
trials it would run its remaining trials under the old one, and a study would hold trials
of two orders in an order nobody chose. So after each trial the trial loop compares the
study's order with its own and stops when they differ (``stop_on_new_order``), a recycled
worker does the same before it starts another child, and the worker then rebuilds its run
from the new order, as a worker started now would. What a user who re-runs the set-up
expects: the running workers carry on under what they just asked for, with no resubmitted
job. A trial already in progress when the new order arrives finishes under the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import optuna

from mammosearch.search.options import RunOptions
from mammosearch.store.record.worker_order import WorkerOrder, order_of


def new_order(attrs: Mapping[str, Any], token: str | None) -> WorkerOrder | None:
    """The study's order when it is not the one with ``token`` (None: the same order, or nothing to watch)."""
    if token is None:
        return None
    order = order_of(attrs)
    return order if order is not None and order.token != token else None


def stop_on_new_order(options: RunOptions) -> list[Callable[[optuna.Study, optuna.trial.FrozenTrial], None]]:
    """Optuna callbacks that stop the trial loop once the study holds another order than ``options.order_token`` (none outside a worker)."""
    token = options.order_token
    if token is None:
        return []

    def check(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if new_order(study.user_attrs, token) is not None:
            study.stop()  # the worker rebuilds its run from the new order (joining.py)

    return [check]
