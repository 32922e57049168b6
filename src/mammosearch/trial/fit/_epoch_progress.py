"""An epoch's batches as a progress stage: done/total and the time left in the epoch.

An epoch of a large set at a high resolution can take minutes; the epoch lines alone
would leave a log silent that long.
"""

from __future__ import annotations

from typing import Any

import keras

from mammosearch.progress import Stage


class EpochProgress(keras.callbacks.Callback):
    """Reports each epoch's batches to the progress sink (``mammosearch.progress``), untimed."""

    # Only counts: safe for Keras to call from its callback thread, so the training loop
    # never waits for it (a batch hook that is not async-safe makes Keras sync every step).
    async_safe = True

    def __init__(self, total_epochs: int, prefix: str = "") -> None:
        super().__init__()
        self.total_epochs = total_epochs
        self.prefix = prefix
        self.current: Stage | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        steps = (self.params or {}).get("steps")
        self.steps = steps if isinstance(steps, int) else None
        self.current = Stage(f"{self.prefix}epoch {epoch + 1}/{self.total_epochs}", self.steps, "batches", timed=False)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.current is not None:
            # With several steps per execution Keras calls this once per execution, with the
            # index of its last step (past the epoch's end on its last execution).
            done = batch + 1 if self.steps is None else min(batch + 1, self.steps)
            self.current.advance(done - self.current.done)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.current is not None:
            self.current.finish()
            self.current = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.on_epoch_end(0)  # an epoch cut short (pruned, budget) closes its stage too
