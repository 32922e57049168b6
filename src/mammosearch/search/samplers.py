"""The space's sampler and pruner as Optuna objects."""

from __future__ import annotations

import importlib.util
import warnings

import optuna

from mammosearch.config import Space
from mammosearch.errors import SpaceError
from mammosearch.search._family_pruner import FamilyPruner
from mammosearch.search.seeding import TrialSeededSampler


def make_sampler(space: Space) -> optuna.samplers.BaseSampler:
    """The space's sampler, seeded per trial from study.seed and the trial number (search/seeding.py)."""
    # Builds one at once: an unusable sampler (gp without PyTorch) fails here, not in a trial.
    return TrialSeededSampler(lambda seed: make_seeded(space, seed), space.study.seed)


def make_seeded(space: Space, seed: int) -> optuna.samplers.BaseSampler:
    """The space's sampler with this ``seed``."""
    study = space.study
    if study.sampler == "tpe":
        startup = min(10, max(3, (study.n_trials or 30) // 3))
        # group=True: conditional parameters (cnn_* vs head_*) are modelled per sub-space.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, group=True)
    if study.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if study.sampler == "cmaes":
        # CMA-ES handles the continuous knobs; categorical ones fall back to random sampling.
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if study.sampler == "gp":
        if importlib.util.find_spec("torch") is None:
            raise SpaceError("study.sampler: 'gp' needs PyTorch; install it (pip install 'mammosearch[gp]') or use tpe")
        return optuna.samplers.GPSampler(seed=seed)
    raise SpaceError(f"study.sampler: unknown sampler {study.sampler!r}")


def max_epochs(space: Space) -> int:
    """The largest number of epochs any trial of the space can train (the pruners' resource)."""
    return space.max_epochs()


def make_pruner(space: Space) -> optuna.pruners.BasePruner:
    """The space's pruner; median and successive halving compare a trial only with its own family."""
    spec = space.study.pruner
    if spec.name == "median":
        # Within a family (search/family_pruner.py): a from-scratch CNN is not judged by a pretrained head's median.
        median = optuna.pruners.MedianPruner(n_startup_trials=spec.n_startup_trials, n_warmup_steps=spec.n_warmup_steps)
        return FamilyPruner(median)
    if spec.name == "hyperband":
        # The resource is epochs, or folds when cross-validating (one report per fold).
        resource = space.evaluation.cv_folds or max_epochs(space)
        return optuna.pruners.HyperbandPruner(
            min_resource=spec.min_resource, max_resource=max(resource, spec.min_resource), reduction_factor=spec.reduction_factor
        )
    if spec.name == "wilcoxon":
        # Each trial reports its fold k's own AUC at step k (trial/runner.py), which the test
        # pairs with the best trial's fold k: same patients, so the fold's difficulty cancels.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=spec.p_threshold, n_startup_steps=2)
    if spec.name == "successive_halving":
        return FamilyPruner(optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.min_resource, reduction_factor=spec.reduction_factor))
    return optuna.pruners.NopPruner()


def wilcoxon_earliest_fold(p_threshold: float) -> int:
    """The first fold after which a trial worse than the best on every fold so far reaches ``p < p_threshold``.

    The exact one-sided signed-rank p-value of n differences all of one sign is ``2**-n``.
    """
    folds = 2
    while 2.0**-folds >= p_threshold:
        folds += 1
    return folds


def describe_pruner(space: Space) -> str:
    """What the pruner does, in one line for the run output."""
    spec = space.study.pruner
    step = "fold" if space.evaluation.cv_folds else "epoch"
    if spec.name == "median":
        return (f"median within each model family (a trial is compared only with finished trials of its own family), "
                f"once {spec.n_startup_trials} of that family have finished, from {step} {spec.n_warmup_steps + 1} on")
    if spec.name == "successive_halving":
        return f"successive halving within each model family (min_resource {spec.min_resource}, reduction_factor {spec.reduction_factor})"
    if spec.name == "wilcoxon":
        return (f"Wilcoxon signed-rank test of each trial's fold AUCs against the best trial's, fold by fold; pruned when worse "
                f"with p < {spec.p_threshold:g} (with {space.evaluation.cv_folds} folds the earliest is fold "
                f"{wilcoxon_earliest_fold(spec.p_threshold)})")
    if spec.name == "hyperband":
        return f"hyperband over the whole study (its brackets mix families), reduction_factor {spec.reduction_factor}"
    return "none: every trial trains all its epochs"
