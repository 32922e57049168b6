"""Versioned Optuna parameter names: how a study keeps a parameter whose distribution changed.

Optuna keeps one distribution per parameter name in a study: every storage refuses a
categorical whose choices differ from the first trial's (``CategoricalDistribution does
not support dynamic value space``), or a range that turns log or changes kind. So when
``run --extend-space`` changes such a parameter (``filters: [4, 8] -> [4, 8, 16]``), the
new trials sample it under a new name, ``cnn_filters@2``: the old trials keep theirs, and
the sampler learns about each name only from the trials that drew it (it never fits the
old choices' results to the new choice list). A change Optuna accepts (a wider range, the
same choices) keeps the name, so the sampler goes on learning from every trial.

The name is Optuna's business only: :class:`~mammosearch.spec.params.TrialParams`
(what the leaderboard, report and export read) holds the plain field, whatever the name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from optuna.distributions import BaseDistribution, check_distribution_compatibility

from mammosearch.spec import Suggester

SEPARATOR = "@"


def plain_name(name: str) -> str:
    """``cnn_filters@2`` -> ``cnn_filters`` (a name without a version is returned as it is)."""
    base, sep, version = name.rpartition(SEPARATOR)
    return base if sep and version.isdigit() else name


def _version(name: str) -> int:
    return int(name.rpartition(SEPARATOR)[2]) if plain_name(name) != name else 1


def _compatible(old: BaseDistribution, new: BaseDistribution) -> bool:
    try:
        check_distribution_compatibility(old, new)
    except ValueError:
        return False
    return True


def first_distributions(trials: Iterable[Any]) -> dict[str, BaseDistribution]:
    """Each parameter name's distribution in the first trial (oldest first) that holds it.

    Every trial of a study, whatever its state: the storage checks a new value against
    any earlier trial's distribution, a failed or running one included.
    """
    first: dict[str, BaseDistribution] = {}
    for trial in trials:
        for name, distribution in trial.distributions.items():
            first.setdefault(name, distribution)
    return first


def choose_names(current: Mapping[str, BaseDistribution], recorded: Mapping[str, BaseDistribution]) -> dict[str, str]:
    """``{plain name: versioned name}`` for each parameter of ``current`` that cannot keep its plain name.

    A parameter takes the newest of its recorded names whose distribution Optuna accepts
    for the current one (so a space changed back to an earlier one samples under that
    earlier name again), else the next version. Parameters that keep their plain name are
    left out, so a study whose space never changed has an empty map.
    """
    names: dict[str, str] = {}
    for name, distribution in current.items():
        versions = sorted((n for n in recorded if plain_name(n) == name), key=_version)
        if not versions:
            continue  # a new parameter: its plain name is free
        usable = [n for n in versions if _compatible(recorded[n], distribution)]
        chosen = usable[-1] if usable else f"{name}{SEPARATOR}{_version(versions[-1]) + 1}"
        if chosen != name:
            names[name] = chosen
    return names


class Renamed:
    """A trial as :func:`~mammosearch.trial.sampling.sample_params` sees it, with versioned names given to Optuna."""

    def __init__(self, trial: Suggester, names: Mapping[str, str]) -> None:
        self.trial, self.names = trial, names

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.trial.suggest_categorical(self.names.get(name, name), choices)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self.trial.suggest_int(self.names.get(name, name), low, high, step=step, log=log)

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        return self.trial.suggest_float(self.names.get(name, name), low, high, step=step, log=log)
