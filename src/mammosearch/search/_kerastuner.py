"""KerasTuner as a second search engine over the same space, models and training code.

KerasTuner's oracle (Hyperband, Bayesian optimisation or random search) decides the
hyper-parameters; mammosearch's own :class:`~mammosearch.objective.Objective` builds,
trains and evaluates exactly as in an Optuna trial; each finished trial is written to the
Optuna storage with ``study.add_trial``, so ``report`` and ``export-best`` read both
engines' studies alike. KerasTuner keeps its oracle state under
``results/<study>/kerastuner/`` so a re-run resumes.

Hyperband's epoch budget (``tuner/epochs``) replaces the trial's epochs; each trial
trains from scratch (mammosearch does not warm-start a round from the previous one).
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

import optuna

from mammosearch.config import Space
from mammosearch.deadline import seconds_left
from mammosearch.errors import BudgetSpent, SpaceError, TrialFailed
from mammosearch.search._listener import StudyListener
from mammosearch.search._objective import SearchObjective
from mammosearch.search.options import ALGORITHMS, RunOptions
from mammosearch.search.samplers import max_epochs
from mammosearch.search.study import Prepared
from mammosearch.spec import Categorical, FloatRange, IntRange, ParamSpec, TrialParams
from mammosearch.store import assemble_pending, claimed_study_dir
from mammosearch.store.artifact_store import kept_artifacts
from mammosearch.trial import sample_params


class KerasTunerTrial:
    """Looks like an Optuna trial to :func:`sample_params` and the objective; values come from KerasTuner."""

    def __init__(self, hp: Any, number: int, study: optuna.Study | None, kerastuner_trial_id: str | None = None) -> None:
        self.hp = hp
        self.number = number
        self.study = study
        self.kerastuner_trial_id = kerastuner_trial_id
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, optuna.distributions.BaseDistribution] = {}
        self.user_attrs: dict[str, Any] = {}
        self.intermediate: dict[int, float] = {}

    @property
    def budget(self) -> int | None:
        value = self.hp.values.get("tuner/epochs")
        return None if value is None else int(value)

    def _draw(self, name: str, spec: ParamSpec) -> Any:
        # The spec translates itself: its KerasTuner hyper-parameter, its Optuna distribution.
        value = spec.kerastuner(self.hp, name)
        self.distributions[name] = spec.distribution()
        self.params[name] = value
        return value

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self._draw(name, Categorical(tuple(choices)))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return int(self._draw(name, IntRange(low, high, step, log)))

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        return float(self._draw(name, FloatRange(low, high, log, step)))

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def report(self, value: float, step: int) -> None:
        self.intermediate[step] = float(value)

    def should_prune(self) -> bool:
        return False  # KerasTuner's Hyperband decides by budgets, not by pruning


class _Declaring(KerasTunerTrial):
    """Walks one branch of the conditional space (forced family/head/fine_tune) to declare its hyper-parameters."""

    def __init__(self, hp: Any, forced: dict[str, Any]) -> None:
        super().__init__(hp, number=-1, study=None)
        self.forced = forced

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        super().suggest_categorical(name, choices)
        return self.forced.get(name, list(choices)[0])


def declare_space(hp: Any, space: Space) -> None:
    """KerasTuner samples only declared hyper-parameters: declare every branch of the space up front.

    Parameters of branches a trial does not take are sampled by KerasTuner and ignored.
    """
    heads = space.model.heads
    for family in space.model.families:
        for head in heads:
            for fine_tune in (False, True):
                sample_params(_Declaring(hp, {"family": family, "head": head, "fine_tune": fine_tune}), space)


def apply_budget(params: TrialParams, trial: Any) -> TrialParams:
    """Hyperband's epoch budget, split between the head and fine-tuning phases in proportion."""
    budget = getattr(trial, "budget", None)
    if budget is None or budget >= params.total_epochs:
        return params
    if not params.fine_tune:
        return dataclasses.replace(params, epochs=max(1, budget))
    head = max(1, round(budget * params.epochs / params.total_epochs))
    tune = budget - head
    if tune < 1:
        return dataclasses.replace(params, epochs=head, fine_tune=False, unfrozen_layers=0, fine_tune_learning_rate=None, fine_tune_epochs=0)
    return dataclasses.replace(params, epochs=head, fine_tune_epochs=tune)


def make_oracle(algorithm: str, space: Space, remaining: int | None) -> Any:
    import keras_tuner as kt

    objective = kt.Objective("val_auc", direction="max")
    common = dict(objective=objective, seed=space.study.seed, max_consecutive_failed_trials=10_000)
    if algorithm == "hyperband":
        # One Hyperband iteration is a fixed number of trials (10 for 6 epochs, factor 3);
        # with a trial budget, iterate until it is spent, as an Optuna study would.
        oracle = kt.oracles.HyperbandOracle(
            max_epochs=max_epochs(space), factor=space.study.pruner.reduction_factor,
            hyperband_iterations=None if remaining is not None else 1, **common,
        )
        oracle.max_trials = remaining  # Hyperband has no trial cap of its own
        return oracle
    if algorithm == "bayesian":
        return kt.oracles.BayesianOptimizationOracle(max_trials=remaining, **common)
    if algorithm == "random":
        return kt.oracles.RandomSearchOracle(max_trials=remaining, **common)
    raise SpaceError(f"--algorithm: unknown value {algorithm!r} (allowed: {', '.join(ALGORITHMS)})")


def run_kerastuner_trials(prepared: Prepared, space: Space, options: RunOptions, listener: StudyListener | None) -> str:
    """KerasTuner's loop over the prepared study's remaining trials; returns the runtime line."""
    from mammosearch import runtime

    runtime_line = runtime.configure(options.precision)  # before keras_tuner imports TensorFlow
    import keras_tuner as kt

    from mammosearch.search.loop import record_linear_probes
    from mammosearch.trial import batch_caps

    caps = batch_caps(space, prepared.images.channels)  # refuses a configuration that cannot fit, before any trial
    record_linear_probes(prepared, space, options, caps)
    algorithm, study = options.algorithm, prepared.study
    engine = f"kerastuner/{algorithm}"
    remaining = prepared.remaining(space)
    study_dir = claimed_study_dir(options.results_dir, study)
    artifacts = kept_artifacts(study.user_attrs, options.artifacts_url, writing=True)
    objective = SearchObjective(
        space, prepared.images, study_dir, listener, options.tensorboard,
        Path(options.results_dir) / "cache" / "activations", adjust=apply_budget, engine=engine, deadline=options.deadline, caps=caps,
        artifacts=artifacts,
    )

    class BudgetSpentStopsSearch(kt.errors.FatalError):
        """The time budget is spent: out of KerasTuner's loop. The oracle keeps the trial in
        progress as ongoing and, reloaded by the next run, retries it."""
    runtime.freeze_long_lived_objects()

    class Tuner(kt.engine.base_tuner.BaseTuner):
        """KerasTuner's loop with mammosearch's objective as the trial body."""

        def _populate_initial_space(self) -> None:
            hp = self.oracle.get_space()
            declare_space(hp, space)
            self.oracle.update_space(hp)

        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> float:
            left = seconds_left(options.deadline)
            if left is not None and left <= 0:
                raise BudgetSpentStopsSearch("time budget spent")
            proxy = KerasTunerTrial(trial.hyperparameters, len(study.get_trials(deepcopy=False)), study, trial.trial_id)
            started = datetime.datetime.now()
            state, value, failure = optuna.trial.TrialState.COMPLETE, None, None
            try:
                value = objective(proxy)
            except TrialFailed as exc:
                state, failure = optuna.trial.TrialState.FAIL, exc
            finished = optuna.trial.create_trial(
                state=state, value=value, params=proxy.params, distributions=proxy.distributions,
                user_attrs=proxy.user_attrs, intermediate_values=proxy.intermediate,
            )
            finished.datetime_start, finished.datetime_complete = started, datetime.datetime.now()
            study.add_trial(finished)
            if listener is not None:
                listener.on_trial_end(study.get_trials(deepcopy=False)[-1])
            if isinstance(failure, BudgetSpent):
                raise BudgetSpentStopsSearch(str(failure))
            if failure is not None:
                raise kt.errors.FailedTrialError(str(failure))
            return float(value or 0.0)

    if remaining is None or remaining > 0:
        tuner = Tuner(
            oracle=make_oracle(algorithm, space, remaining),
            directory=str(study_dir.root / "kerastuner"),
            project_name=algorithm,
            overwrite=False,
        )
        try:
            tuner.search(verbose=0)
        except BudgetSpentStopsSearch:
            pass  # the run ends on its time budget, as an Optuna run does
        assemble_pending(study, study_dir, artifacts=artifacts)
    return runtime_line
