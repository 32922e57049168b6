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

from mammosearch.config import Space
from mammosearch.data import ImageSet
from mammosearch.errors import BudgetSpent, TrialFailed
from mammosearch.progress import stage
from mammosearch.search._identity import current_stamp
from mammosearch.search._listener import StudyListener
from mammosearch.search.options import worker_number
from mammosearch.search.seeding import trial_seed
from mammosearch.spec import TrialOutcome, TrialParams
from mammosearch.store import StudyDir, keep_if_top_k, record, requeue
from mammosearch.store.artifact_store import KeptArtifacts
from mammosearch.store.record import stamp_attrs
from mammosearch.trial import BatchCaps, TrialRunner, sample_params

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
        deadline: float | None = None,
        caps: BatchCaps | None = None,
        artifacts: KeptArtifacts | None = None,
    ) -> None:
        self.space = space
        self.artifacts = artifacts  # the study's artifact store, when it has one: kept models are uploaded there too
        self.study_dir = study_dir
        self.listener = listener
        self.adjust: Adjust = adjust or (lambda params, trial: params)
        self.engine = engine
        self._names: dict[str, str] | None = None  # the study's parameter names, read at the first trial
        self.runner = TrialRunner(space, images, listener, study_dir.tensorboard_dir if tensorboard else None, activation_dir, deadline, caps)

    def _param_names(self, trial: Any) -> dict[str, str]:
        """The versioned names this study's sampler knows its parameters by (search/space_check.py records them).

        Read from the study at the first trial of this objective (one per trial loop): every
        process that runs trials (recycled children, workers) finds the names the run that
        settled the space recorded. They go with the space this loop samples, which does not
        change while it runs (a worker that sees a new set-up's order ends the loop and starts
        a new one under it, search/order_watch.py), so a read per trial (a round trip and a
        commit) would only find the same names again.
        """
        if not isinstance(trial, optuna.trial.Trial):
            return {}  # KerasTuner's trials: its oracle names the hyper-parameters
        if self._names is None:
            self._names = record.param_names_of(trial.study.user_attrs)
        return self._names

    def _drawn_by(self, trial: Any) -> dict[str, Any]:
        """The sampling seed, process and worker stamp of a trial the study's sampler drew (none for KerasTuner's oracle)."""
        if not isinstance(trial, optuna.trial.Trial):
            return {}
        sampling = record.Sampling(trial_seed(self.space.study.seed, trial.number), f"{socket.gethostname()}:{os.getpid()}", worker_number())
        return {**record.sampling_attrs(sampling), **stamp_attrs(current_stamp())}

    def __call__(self, trial: Any) -> float:
        with stage("trials", shown=False):  # timed for the run's summary; the study display shows the trial
            return self._run(trial)

    def _run(self, trial: Any) -> float:
        params = self.adjust(sample_params(trial, self.space, self._param_names(trial)), trial)
        # A trial queued again after the time budget stopped it trains with the stopped trial's
        # seed: the model that one would have become (store/budget_stops.py). The batch size is
        # capped to the memory budget (trial/memory_plan.py), as the trial records it.
        resumes = record.from_user_attrs(trial.user_attrs).resumes_trial if isinstance(trial, optuna.trial.Trial) else None
        params = replace(self.runner.within_memory(params), seed=self.space.study.seed * 10_007 + (trial.number if resumes is None else resumes) * 101)
        outcome = TrialOutcome(
            params=params, step_unit=self.runner.step_unit, engine=self.engine,
            kerastuner_trial=getattr(trial, "kerastuner_trial_id", None),  # set by the KerasTuner engine's trials
            resumes_trial=resumes,
        )
        written: dict[str, Any] = {}
        # The trial's first record, with how it was drawn and who runs it (for the report's
        # per-worker busy and idle time), in one transaction.
        record.save(trial, outcome, written, also=self._drawn_by(trial))
        if self.listener is not None:
            self.listener.on_trial_start(trial.number, params)
        try:
            trained = self.runner.run(trial, outcome)
            value = self.runner.objective_value(outcome)
            keep_if_top_k(trial.study, trial.number, value, outcome, trained, self.study_dir, self.space.study.keep_top_k, self.artifacts, trial)
        except optuna.TrialPruned:
            record.save(trial, outcome, written)
            raise
        except TrialFailed as exc:
            outcome.fail_reason = str(exc)
            if isinstance(exc, BudgetSpent):
                outcome.stopped_by_budget, outcome.epochs_trained = True, exc.epochs_trained
            record.save(trial, outcome, written)
            if isinstance(exc, BudgetSpent) and isinstance(trial, optuna.trial.Trial):
                requeue(trial.study, trial)
            raise
        record.save(trial, outcome, written)
        return value
