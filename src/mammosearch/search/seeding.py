"""A sampler seed per trial, derived from the study seed and the trial's number.

One seed per process made every ``--workers`` process, every concurrent ``run`` on the
study, every recycled child and every resumed run replay the same random start-up
points. Optuna's storage hands out trial numbers atomically (on SQLite, PostgreSQL and the
journal alike), so the trial number is the one token that is unique across every process
without any coordination of their own: the sampler that draws trial ``n`` is seeded with
``trial_seed(study_seed, n)``. A study stays reproducible (trial ``n``'s start-up point
depends on the study seed and ``n`` alone, whichever process drew it), and processes
explore different points. The seed is recorded with each trial (store/record.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState


def trial_seed(study_seed: int, trial_number: int) -> int:
    """The sampler seed of trial ``trial_number``: well mixed (numpy's SeedSequence), 32 bits."""
    return int(np.random.SeedSequence([study_seed, trial_number]).generate_state(1)[0])


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """``make(seed)``'s sampler, made afresh for each trial with that trial's seed.

    The samplers used here keep what they learn in the storage (the trials, and CMA-ES its
    state in their system attributes), not in the object, so a fresh one per trial samples
    as the long-lived one would, apart from its random numbers. One process runs one trial
    at a time (``n_jobs=1``), so one current sampler is enough.
    """

    def __init__(self, make: Callable[[int], optuna.samplers.BaseSampler], study_seed: int) -> None:
        self._make, self._study_seed = make, study_seed
        self._number: int | None = None
        self._sampler = make(study_seed)

    def _for(self, trial: FrozenTrial) -> optuna.samplers.BaseSampler:
        if trial.number != self._number:
            self._sampler, self._number = self._make(trial_seed(self._study_seed, trial.number)), trial.number
        return self._sampler

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._for(trial).before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self._for(trial).after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._sampler.reseed_rng()
