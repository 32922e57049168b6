"""The function Optuna (or the KerasTuner engine) calls once per trial.

Sample the params, run the trial, decide whether its model is kept, and record the
outcome: the one place a trial's result is written (as keras-tuner's
``_run_and_update_trial``), also for a pruned or failed trial.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import optuna

from mammosearch.config.schema import Space
from mammosearch.data.base import ImageSet
from mammosearch.errors import TrialFailed
from mammosearch.search.listener import StudyListener
from mammosearch.search.options import worker_number
from mammosearch.search.seeding import trial_seed
from mammosearch.spec.outcome import TrialOutcome
from mammosearch.spec.params import TrialParams
from mammosearch.store import record
from mammosearch.store.artifacts import StudyDir
from mammosearch.store.kept_models import keep_if_top_k
from mammosearch.trial.runner import TrialRunner
from mammosearch.trial.sampling import sample_params

# A second engine can change sampled params before training (KerasTuner's Hyperband sets
# each trial's epoch budget).
Adjust = Callable[[TrialParams, Any], TrialParams]


class SearchObjective:
    """Called by ``study.optimize`` once per trial; returns the validation AUC (mean fold AUC under CV)."""

    def __init__(
        self,
        space: Space,
        images: ImageSet,
        study_dir: StudyDir,
        listener: StudyListener | None,
        tensorboard: bool,
        activation_dir: Path | None = None,
        adjust: Adjust | None = None,
        engine: str | None = None,
    ) -> None:
        self.space = space
        self.study_dir = study_dir
        self.listener = listener
        self.adjust: Adjust = adjust or (lambda params, trial: params)
        self.engine = engine
        self.runner = TrialRunner(space, images, listener, study_dir.tensorboard_dir if tensorboard else None, activation_dir)

    @staticmethod
    def _param_names(trial: Any) -> dict[str, str]:
        """The versioned names this study's sampler knows its parameters by (search/space_check.py records them).

        Read per trial, from the study: every process that runs trials (recycled children,
        workers) finds the names the run that settled the space recorded.
        """
        if not isinstance(trial, optuna.trial.Trial):
            return {}  # KerasTuner's trials: its oracle names the hyper-parameters
        return record.param_names_of(trial.study.user_attrs)

    def __call__(self, trial: Any) -> float:
        params = self.adjust(sample_params(trial, self.space, self._param_names(trial)), trial)
        params = replace(params, seed=self.space.study.seed * 10_007 + trial.number * 101)
        outcome = TrialOutcome(
            params=params, step_unit=self.runner.step_unit, engine=self.engine,
            kerastuner_trial=getattr(trial, "kerastuner_trial_id", None),  # set by the KerasTuner engine's trials
        )
        written: dict[str, Any] = {}
        record.save(trial, outcome, written)
        if isinstance(trial, optuna.trial.Trial):  # drawn by the study's sampler (not KerasTuner's oracle)
            process = f"{socket.gethostname()}:{os.getpid()}"
            record.save_sampling(trial, record.Sampling(trial_seed(self.space.study.seed, trial.number), process, worker_number()))
        if self.listener is not None:
            self.listener.on_trial_start(trial.number, params)
        try:
            trained = self.runner.run(trial, outcome)
            value = self.runner.objective_value(outcome)
            keep_if_top_k(trial.study, trial.number, value, outcome, trained, self.study_dir, self.space.study.keep_top_k)
        except optuna.TrialPruned:
            record.save(trial, outcome, written)
            raise
        except TrialFailed as exc:
            outcome.fail_reason = str(exc)
            record.save(trial, outcome, written)
            raise
        record.save(trial, outcome, written)
        return value
