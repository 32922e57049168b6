"""Reading a study back as typed rows (no retraining, no TensorFlow)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from mammosearch.spec import SplitMetrics, TrialOutcome
from mammosearch.store.kept_models import is_pending, top_k
from mammosearch.store.record import StudyContext, context_of, from_user_attrs, params_dict
from mammosearch.store.storage import open_storage, resolve_study_name

STATE_NAMES = {
    optuna.trial.TrialState.COMPLETE: "complete",
    optuna.trial.TrialState.PRUNED: "pruned",
    optuna.trial.TrialState.FAIL: "failed",
    optuna.trial.TrialState.RUNNING: "running",
    optuna.trial.TrialState.WAITING: "waiting",
}


@dataclass(frozen=True)
class TrialRow:
    """One trial as stored: its state and value, its outcome, and where its model is."""

    number: int
    state: str
    value: float | None
    outcome: TrialOutcome
    params: dict[str, Any]  # as stored (a record written elsewhere may not parse as TrialParams)
    intermediate: dict[int, float]
    model_path: Path | None  # only when the file is on disk
    model_missing: bool  # kept by the study, but the file is not on this machine
    seconds: float | None
    # Where model.keras will be once assembled: its head's weights are saved, the full
    # model not yet (a run that ended early; kept_models.py). None otherwise.
    pending_model_path: Path | None = None

    @property
    def missing_model_location(self) -> str:
        """Where a kept model that is not on this machine was saved: ``host:path``, or the path alone."""
        host, path = self.outcome.model_host, self.outcome.model_path or "?"
        if host and host != socket.gethostname():
            return f"{path} on host {host} (this is {socket.gethostname()}; share results/ between the nodes, or run this there)"
        return f"{path} (deleted or moved)"

    @property
    def val_metrics(self) -> SplitMetrics | None:
        return self.outcome.val_metrics

    @property
    def test_metrics(self) -> SplitMetrics | None:
        return self.outcome.test_metrics

    @property
    def best_epoch(self) -> int | None:
        return self.outcome.best_epoch

    @property
    def epochs_trained(self) -> int | None:
        return self.outcome.epochs_trained

    @property
    def fail_reason(self) -> str | None:
        return self.outcome.fail_reason

    @property
    def unfrozen_with_weights(self) -> int | None:
        return self.outcome.unfrozen_with_weights

    @property
    def family(self) -> str | None:
        return self.params.get("family")

    @property
    def head(self) -> str | None:
        head = self.params.get("head")
        return head.get("kind") if isinstance(head, dict) else None

    @property
    def last_intermediate(self) -> float | None:
        return self.intermediate[max(self.intermediate)] if self.intermediate else None


@dataclass(frozen=True)
class StudyRecord:
    name: str
    storage_url: str
    rows: list[TrialRow]
    context: StudyContext = field(default_factory=StudyContext)

    def by_state(self, state: str) -> list[TrialRow]:
        return [r for r in self.rows if r.state == state]

    def ranked(self) -> list[TrialRow]:
        """Completed trials, best validation AUC first (ties: earlier trial first)."""
        done = [r for r in self.rows if r.state == "complete" and r.value is not None]
        return sorted(done, key=lambda r: (-float(r.value), r.number))  # type: ignore[arg-type]

    def state_counts(self) -> dict[str, int]:
        counts = {name: 0 for name in ("complete", "pruned", "failed", "running")}
        for row in self.rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts


def _row(trial: optuna.trial.FrozenTrial, kept: set[int]) -> TrialRow:
    outcome = from_user_attrs(trial.user_attrs)
    path = outcome.model_path
    on_disk = path is not None and Path(path).is_file()
    pending = path is not None and not on_disk and is_pending(Path(path).parent)
    seconds = None
    if trial.datetime_start and trial.datetime_complete:
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return TrialRow(
        number=trial.number,
        state=STATE_NAMES.get(trial.state, trial.state.name.lower()),
        value=trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None,
        outcome=outcome,
        params=params_dict(trial.user_attrs),
        intermediate=dict(trial.intermediate_values),
        model_path=Path(path) if path and on_disk else None,
        # Only the top-K trials keep their model; for them a missing file is a problem.
        model_missing=bool(path) and not on_disk and not pending and trial.number in kept,
        seconds=seconds,
        pending_model_path=Path(path) if path and pending else None,
    )


def load_study(storage_url: str, study_name: str | None = None) -> StudyRecord:
    """The study as stored; reading only: a storage that is not there is refused, never created."""
    storage = open_storage(storage_url, create=False)
    name = resolve_study_name(storage, storage_url, study_name)
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    context = context_of(study.user_attrs)
    kept = top_k([(t.number, float(t.value)) for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None], context.keep_top_k)
    return StudyRecord(
        name=name,
        storage_url=storage_url,
        rows=[_row(t, kept) for t in trials],
        context=context,
    )


