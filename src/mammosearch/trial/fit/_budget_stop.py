"""Stopping a trial at an epoch boundary when the command's time budget would be overrun."""

from __future__ import annotations

import time
from typing import Any

import keras

from mammosearch.deadline import would_overrun
from mammosearch.errors import BudgetSpent


class BudgetStop(keras.callbacks.Callback):
    """Raises :class:`BudgetSpent` after an epoch when one more epoch would end past ``deadline``.

    The next epoch is assumed to take as long as the one just finished (validation pass
    included: this callback comes after the one that computes it). The trial's last epoch
    is never cut: its training is done, and what follows it takes seconds. Comes after the
    pruning callback, so a trial the pruner stops is recorded as pruned.
    """

    def __init__(self, deadline: float, total_epochs: int, where: str = "") -> None:
        super().__init__()
        self.deadline = deadline
        self.total_epochs = total_epochs
        self.where = where
        self.epoch_started = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch_started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        done = epoch + 1  # global across the two phases (fit(initial_epoch=...))
        if done < self.total_epochs and would_overrun(self.deadline, time.monotonic() - self.epoch_started):
            raise BudgetSpent(done, self.total_epochs, self.where)
