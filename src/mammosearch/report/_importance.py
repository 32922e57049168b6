"""Which hyper-parameters mattered: Optuna's default importance evaluator over the complete trials.

Importances are read from the Optuna study itself (not from the stored TrialRows): the
evaluator needs each parameter's distribution, which only Optuna's trials carry.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna

from mammosearch.store import StudyRecord, open_storage
from mammosearch.store.record import RunEnd, run_end_of
from mammosearch.words import plural

# Optuna's default evaluator fits a random forest of the objective on the parameters; on a
# handful of points any parameter can look decisive, so fewer complete trials than this get a caution.
FEW_TRIALS = 10


@dataclass(frozen=True)
class Importance:
    """Normalised importances (sum 1, most important first), or why there are none."""

    values: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None  # one line: why nothing was computed
    evaluator: str = ""
    trials: int = 0  # complete trials the evaluator saw

    @property
    def caution(self) -> str | None:
        """One line when the importances rest on too few trials to mean much (None otherwise)."""
        if not self.values or self.trials >= FEW_TRIALS:
            return None
        return (f"computed from only {plural(self.trials, 'complete trial')}: below {FEW_TRIALS}, the evaluator's forest fits noise "
                "and the ranking can change with every new trial; read it as a hint, not a finding")

    def to_json(self) -> dict[str, Any]:
        return {"values": self.values, "skipped": self.skipped, "evaluator": self.evaluator, "trials": self.trials, "caution": self.caution}


def open_optuna_study(record: StudyRecord) -> optuna.Study | None:
    """The record's study as Optuna sees it; None when its storage cannot be opened again."""
    try:
        return optuna.load_study(study_name=record.name, storage=open_storage(record.storage_url))
    except Exception:  # noqa: BLE001 - a report without importances beats no report
        return None


def last_run_end(study: optuna.Study | None) -> RunEnd | None:
    return None if study is None else run_end_of(study.user_attrs)


def _varying_params(trials: list[optuna.trial.FrozenTrial]) -> tuple[list[str], list[str]]:
    """(parameters in every trial that take two or more values, those stuck at one value)."""
    common = set.intersection(*(set(t.distributions) for t in trials)) if trials else set()
    varying: list[str] = []
    constant: list[str] = []
    for name in sorted(common):
        # repr: a categorical choice may be unhashable (a list) yet still comparable as text.
        (varying if len({repr(t.params[name]) for t in trials}) > 1 else constant).append(name)
    return varying, constant


def param_importances(study: optuna.Study | None) -> Importance:
    """``optuna.importance.get_param_importances`` with its default evaluator, or a one-line reason."""
    if study is None:
        return Importance(skipped="the study's storage could not be opened to read its parameter distributions")
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return Importance(skipped=f"needs at least 2 complete trials, the study has {len(complete)}", trials=len(complete))
    varying, constant = _varying_params(complete)
    if not varying:
        what = f"every sampled parameter ({', '.join(constant)}) has a single value" if constant else "no parameter was sampled by Optuna"
        return Importance(skipped=f"{what} in the {len(complete)} complete trials", trials=len(complete))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # experimental-feature notices: not the reader's business
            values = optuna.importance.get_param_importances(study, params=varying)
    except Exception as exc:  # noqa: BLE001 - an evaluator's failure costs this table, not the report
        return Importance(skipped=f"Optuna could not assess the importances: {exc}", trials=len(complete))
    ranked = dict(sorted(((name, float(v)) for name, v in values.items()), key=lambda item: -item[1]))
    return Importance(values=ranked, evaluator=f"Optuna {optuna.__version__}'s default evaluator", trials=len(complete))

