"""A pruner that judges a trial only against trials of its own model family.

Families learn at very different speeds: on the demo a from-scratch CNN's validation AUC
after two epochs is still near 0.5 while a VGG16 head on the same images is far above it,
so a study-wide median pruned every CNN trial at its first pruning step and the study's
first family never showed a result. Comparing like with like keeps each family's own
warm-up (``n_startup_trials`` counts finished trials of that family) and its own median.

The wrapped pruner sees a view of the study whose ``get_trials`` holds only the trials with
the same ``family`` parameter, as Optuna's own Hyperband gives each bracket a view of the
study (``optuna/pruners/_hyperband.py``, ``_BracketStudy``). Pruners that read the study
through ``get_trials`` (median, percentile, successive halving) are filtered this way;
Hyperband builds its own bracket view from the storage and is not wrapped.
"""

from __future__ import annotations

from collections.abc import Container

import optuna
from optuna.trial import FrozenTrial, TrialState

FAMILY_PARAM = "family"


class FamilyPruner(optuna.pruners.BasePruner):
    """Prune with ``inner``, comparing a trial only with trials of the same ``param`` value."""

    def __init__(self, inner: optuna.pruners.BasePruner, param: str = FAMILY_PARAM) -> None:
        if isinstance(inner, optuna.pruners.HyperbandPruner):
            raise ValueError("HyperbandPruner reads the storage through its own bracket view; it cannot be filtered by family.")
        self._inner = inner
        self._param = param

    @property
    def inner(self) -> optuna.pruners.BasePruner:
        return self._inner

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if self._param not in trial.params:
            return self._inner.prune(study, trial)  # no family sampled (yet): the whole study is the peer group
        return self._inner.prune(_FamilyStudy(study, self._param, trial.params[self._param]), trial)


class _FamilyStudy(optuna.Study):
    """The study as the inner pruner sees it: only the trials of one family."""

    def __init__(self, study: optuna.Study, param: str, value: object) -> None:
        super().__init__(study_name=study.study_name, storage=study._storage, sampler=study.sampler, pruner=study.pruner)
        self._whole = study
        self._param = param
        self._value = value

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> list[FrozenTrial]:
        trials = self._whole.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get(self._param) == self._value]

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

    def stop(self) -> None:
        self._whole.stop()  # a pruner that stops the study stops the real optimisation loop
