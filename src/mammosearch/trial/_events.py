"""What a trial tells the display while it trains (Keras-free, so a coordinating process can hold one)."""

from __future__ import annotations

from typing import Protocol

# The validation metric that picks the best epoch, feeds the pruner and is the objective.
MONITOR = "val_auc"


class EpochListener(Protocol):
    """Told after every epoch (or fold, under cross-validation); ``epoch`` is 1-based and global."""

    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None: ...
