"""The pruner compares a trial only with trials of its own family (driven with ask/report, as Optuna's tests do)."""

from __future__ import annotations

import optuna
import pytest

from mammosearch.config import parse_space
from mammosearch.search import make_pruner
from mammosearch.search._family_pruner import FamilyPruner

optuna.logging.set_verbosity(optuna.logging.WARNING)
FAMILIES = ["cnn", "vgg16", "resnet50"]


def _trial(study: optuna.Study, family: str) -> optuna.Trial:
    study.enqueue_trial({"family": family})
    trial = study.ask()
    trial.suggest_categorical("family", FAMILIES)
    return trial


def _finish(study: optuna.Study, family: str, auc: float, steps: int = 3) -> None:
    trial = _trial(study, family)
    for step in range(steps):
        trial.report(auc, step)
    study.tell(trial, auc)


def _study(pruner: optuna.pruners.BasePruner) -> optuna.Study:
    """Three strong pretrained trials (AUC 0.9 at every epoch) have finished."""
    study = optuna.create_study(direction="maximize", pruner=pruner)
    for _ in range(3):
        _finish(study, "vgg16", 0.9)
    return study


def _first_cnn_pruned(pruner: optuna.pruners.BasePruner) -> bool:
    study = _study(pruner)
    trial = _trial(study, "cnn")
    trial.report(0.55, 0)
    return trial.should_prune()


def test_a_slow_family_is_not_judged_by_a_fast_familys_median():
    median = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    assert _first_cnn_pruned(median)  # the old, study-wide median prunes every CNN at its first check
    assert not _first_cnn_pruned(FamilyPruner(median))  # no CNN has finished yet: the CNNs' warm-up still holds


def test_within_a_family_the_median_still_prunes():
    study = _study(FamilyPruner(optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)))
    _finish(study, "cnn", 0.7)
    weak = _trial(study, "cnn")
    weak.report(0.55, 0)
    assert weak.should_prune()  # under the CNNs' own median (0.7)
    strong = _trial(study, "cnn")
    strong.report(0.75, 0)
    assert not strong.should_prune()  # above the CNNs' median, though below the VGG16s' 0.9


def test_startup_trials_count_per_family():
    study = _study(FamilyPruner(optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)))
    _finish(study, "cnn", 0.7)
    weak = _trial(study, "cnn")
    weak.report(0.1, 0)
    assert not weak.should_prune()  # one finished CNN is fewer than n_startup_trials=2


def test_a_trial_without_a_family_is_judged_against_the_whole_study():
    study = _study(FamilyPruner(optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)))
    trial = study.ask()
    trial.report(0.5, 0)
    assert trial.should_prune()


def test_make_pruner_wraps_median_and_successive_halving_but_not_hyperband():
    def pruner(name: str) -> optuna.pruners.BasePruner:
        return make_pruner(parse_space(f"study: {{pruner: {name}}}\ndata: {{source: synthetic}}\n", "s.yaml"))

    median = pruner("median")
    assert isinstance(median, FamilyPruner) and isinstance(median.inner, optuna.pruners.MedianPruner)
    assert isinstance(pruner("successive_halving"), FamilyPruner)
    assert isinstance(pruner("hyperband"), optuna.pruners.HyperbandPruner)
    with pytest.raises(ValueError, match="Hyperband"):
        FamilyPruner(optuna.pruners.HyperbandPruner())


def test_the_run_output_says_how_trials_are_pruned():
    from mammosearch.search import describe_pruner

    space = parse_space("study: {pruner: {name: median, n_startup_trials: 3, n_warmup_steps: 1}}\ndata: {source: synthetic}\n", "s.yaml")
    assert describe_pruner(space).startswith("median within each model family")
    assert "once 3 of that family have finished, from epoch 2 on" in describe_pruner(space)
