"""Reading a study back as typed rows (no retraining, no TensorFlow)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import optuna

from mammosearch.models import HEAD_WEIGHTS_FILE, MODEL_FILE
from mammosearch.spec import SplitMetrics, TrialOutcome
from mammosearch.store.artifact_store import fetch_for_reading, fetch_trial, kept_artifacts
from mammosearch.store.artifacts import StudyDir
from mammosearch.store.kept_models import is_pending, top_k
from mammosearch.store.record import StudyContext, context_of, from_user_attrs, params_dict, trial_files
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
    # Kept in the study's artifact store, not on this machine yet: where its model goes once
    # fetched (export-best, predict); its predictions.json is already there (report reads it).
    remote_model_path: Path | None = None

    @property
    def kept_model_path(self) -> Path | None:
        """Where the kept model is (on disk, pending assembly, or to be fetched), beside its ``predictions.json``."""
        return self.model_path or self.pending_model_path or self.remote_model_path

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
    # Downloads a kept trial's files from the study's artifact store into this node's folder (None: no store).
    fetch: Callable[[int], None] | None = field(default=None, compare=False, repr=False)

    def localized(self, row: TrialRow) -> TrialRow:
        """``row`` with its model on this machine: fetched from the artifact store when only there."""
        if row.remote_model_path is None or self.fetch is None:
            return row
        self.fetch(row.number)
        folder = row.remote_model_path.parent
        if (folder / MODEL_FILE).is_file():
            return replace(row, model_path=folder / MODEL_FILE, remote_model_path=None)
        return replace(row, pending_model_path=folder / MODEL_FILE, remote_model_path=None)  # fetch_trial refuses a trial with neither

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


def _kept_folder(recorded: str | None, local: StudyDir | None, number: int, files: Mapping[str, str]) -> Path | None:
    """Where a kept trial's files are on this machine: where the trial saved them, else this node's own folder for the study
    (the same shared folder under another mount point, or the copy fetched from the artifact store)."""
    if recorded is None:
        return None
    folder = Path(recorded).parent
    if local is None or Path(recorded).is_file() or is_pending(folder):
        return folder
    mine = local.trial_dir(number)
    return mine if files or (mine / MODEL_FILE).is_file() or is_pending(mine) else folder


def _model_file(recorded: str | None, folder: Path | None) -> Path | None:
    """The model file in ``folder``: at the recorded place it keeps the name the trial recorded (a
    study may have recorded any name); a copy in this node's own folder is always MODEL_FILE."""
    if folder is None:
        return None
    return Path(recorded) if recorded is not None and Path(recorded).parent == folder else folder / MODEL_FILE


def _row(trial: optuna.trial.FrozenTrial, kept: set[int], local: StudyDir | None = None, files: Mapping[str, str] | None = None) -> TrialRow:
    outcome = from_user_attrs(trial.user_attrs)
    path = outcome.model_path
    folder = _kept_folder(path, local, trial.number, files or {})
    model_file = _model_file(path, folder)
    on_disk = model_file is not None and model_file.is_file()
    pending = folder is not None and not on_disk and is_pending(folder)
    in_store = folder is not None and not on_disk and not pending and trial.number in kept and bool({MODEL_FILE, HEAD_WEIGHTS_FILE} & set(files or {}))
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
        model_path=model_file if on_disk else None,
        # Only the top-K trials keep their model; for them a missing file is a problem.
        model_missing=bool(path) and not on_disk and not pending and not in_store and trial.number in kept,
        seconds=seconds,
        pending_model_path=model_file if pending else None,
        remote_model_path=folder / MODEL_FILE if folder is not None and in_store else None,
    )


def load_study(storage_url: str, study_name: str | None = None, results_dir: Path | None = None, artifacts_url: str | None = None) -> StudyRecord:
    """The study as stored; reading only: a storage that is not there is refused, never created.

    With ``results_dir`` (this node's results folder), kept files the trials saved elsewhere
    are looked for there too, and, when the study has an artifact store (or ``artifacts_url``
    says where this node sees it), the kept trials' predictions and the study's fingerprint
    are fetched into it; a kept model is fetched when it is used (:meth:`StudyRecord.localized`).
    """
    storage = open_storage(storage_url, create=False)
    name = resolve_study_name(storage, storage_url, study_name)
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    attrs = study.user_attrs  # one read of the study's attributes (a query on a database)
    context = context_of(attrs)
    kept = top_k([(t.number, float(t.value)) for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None], context.keep_top_k)
    local = None if results_dir is None else StudyDir(results_dir, name)
    artifacts = None if local is None else kept_artifacts(attrs, artifacts_url)
    files: dict[int, dict[str, str]] = {}
    fetch: Callable[[int], None] | None = None
    if artifacts is not None and local is not None:
        files = {t.number: trial_files(t.user_attrs, attrs, t.number) for t in trials if t.number in kept}
        elsewhere = {t.number for t in trials if t.number in kept and _saved_here(from_user_attrs(t.user_attrs).model_path)}
        fetch_for_reading(artifacts, local, context.study_uid, {n: f for n, f in files.items() if n not in elsewhere}, attrs)
        for number in elsewhere:
            files[number] = {}  # the folder the trial saved into is on this machine: nothing to fetch

        def fetch_kept(number: int, artifacts: Any = artifacts, local: StudyDir = local) -> None:
            fetch_trial(artifacts, local, context.study_uid, number, files.get(number, {}))

        fetch = fetch_kept

    return StudyRecord(
        name=name,
        storage_url=storage_url,
        rows=[_row(t, kept, local, files.get(t.number)) for t in trials],
        context=context,
        fetch=fetch,
    )


def _saved_here(recorded: str | None) -> bool:
    """The trial's own folder is on this machine (a shared results folder): used as today, nothing fetched."""
    if recorded is None:
        return False
    folder = Path(recorded).parent
    return (folder / MODEL_FILE).is_file() or is_pending(folder)
