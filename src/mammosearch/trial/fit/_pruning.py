"""The Keras -> Optuna bridge: report validation AUC each epoch, prune when told to."""

from __future__ import annotations

import math

import keras
import optuna

from mammosearch.trial._events import MONITOR


class PruningCallback(keras.callbacks.Callback):
    """Reports ``val_auc`` to the trial after each epoch and raises ``TrialPruned``.

    Epoch numbers are global across the two training phases (``fit(initial_epoch=...)``),
    so the pruner sees one step per epoch trained. Written here rather than taken from
    optuna_integration so the monitored name is checked: a missing metric (a renamed
    ``val_auc_1``) is an error, not a pruner that silently never prunes.
    """

    def __init__(self, trial: optuna.Trial, monitor: str = MONITOR) -> None:
        super().__init__()
        self.trial = trial
        self.monitor = monitor

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.monitor not in logs:
            raise KeyError(f"metric {self.monitor!r} not in the training logs {sorted(logs)}")
        value = float(logs[self.monitor])
        if not math.isfinite(value):
            return  # a non-finite loss is handled by the training loop as a failure
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {epoch} with {self.monitor}={value:.4f}")
