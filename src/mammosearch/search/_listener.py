"""What the command line is told while a study runs (``report/progress.py`` shows it)."""

from __future__ import annotations

from typing import Protocol

import optuna

from mammosearch.spec import TrialParams


class StudyListener(Protocol):
    def on_study_start(self, study_name: str, finished: int, n_trials: int | None, data_description: str, notes: tuple[str, ...]) -> None: ...
    def on_trial_start(self, number: int, params: TrialParams) -> None: ...
    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None: ...
    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None: ...
