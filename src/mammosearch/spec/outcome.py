"""Everything one trial stores, as one typed record.

The trial fills a :class:`TrialOutcome` as it goes (so a pruned or failed trial still
says which path it took and how far it got); ``store/record.py`` is the only module that
turns it into an Optuna trial's attributes and back. Everything else reads the dataclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mammosearch.spec.params import TrialParams
from mammosearch.spec.split_metrics import SplitMetrics

# Which way a trial trained (recorded as ``training_path``).
FULL = "full network"
CACHED = "cached activations"
CACHED_VIEWS = "cached augmented views"

# What one pruner step is.
EPOCH = "epoch"
FOLD = "fold"

@dataclass
class TrialOutcome:
    """A trial's record: params, training, metrics per split, timings, and why it failed."""

    params: TrialParams | None = None  # None only for a trial recorded by something else
    step_unit: str = EPOCH
    training_path: str | None = None
    activation_cut: str | None = None  # the layer whose output was cached
    unfrozen_actual: int | None = None  # unfrozen layers after rounding to a cut boundary
    unfrozen_with_weights: int | None = None  # backbone layers that trained in fine-tuning
    best_epoch: int | None = None  # 1-based, across both phases
    epochs_trained: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    val_metrics: SplitMetrics | None = None
    test_metrics: SplitMetrics | None = None
    # Under cross-validation: this trial's pooled out-of-fold scores, in the order of the
    # study's CV pool (StudyContext.cv_pool), so BBC-CV can be computed without retraining.
    oof_scores: list[float] | None = None
    fit_seconds: float | None = None
    trial_seconds: float | None = None
    fail_reason: str | None = None
    # Stopped at an epoch boundary by the command's time budget (FAIL, not counted towards
    # n_trials); ``resumes_trial``: the number of the stopped trial this one trains in full.
    stopped_by_budget: bool | None = None
    resumes_trial: int | None = None
    model_path: str | None = None  # set once the trial is kept in the top K
    # The machine that saved it: with workers on several nodes each keeps its models under
    # its own results/, and a machine without the file can then say where it is.
    model_host: str | None = None
    engine: str | None = None  # "kerastuner/<algorithm>" for the second engine's trials
    kerastuner_trial: str | None = None

    @property
    def fold_aucs(self) -> list[float] | None:
        value = None if self.val_metrics is None else self.val_metrics.fold_aucs
        return None if value is None else list(value)


@dataclass(frozen=True)
class Trained:
    """A finished trial's model: how to save it, and its predictions per split (for the kept files).

    ``fold_models``: under ``study.keep_fold_models``, how to save folds 2..k's models (fold 1's is ``save_model``).
    """

    save_model: Callable[[Path], None]
    predictions: dict[str, Any]
    fold_models: tuple[Callable[[Path], None], ...] = ()
