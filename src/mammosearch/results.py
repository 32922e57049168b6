"""Reading a study back as typed rows and a pandas DataFrame (no retraining, no TensorFlow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from mammosearch.kept_models import is_pending
from mammosearch.storage import open_storage, resolve_study_name

STATE_NAMES = {
    optuna.trial.TrialState.COMPLETE: "complete",
    optuna.trial.TrialState.PRUNED: "pruned",
    optuna.trial.TrialState.FAIL: "failed",
    optuna.trial.TrialState.RUNNING: "running",
    optuna.trial.TrialState.WAITING: "waiting",
}


@dataclass(frozen=True)
class TrialRow:
    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    val_metrics: dict[str, Any] | None
    test_metrics: dict[str, Any] | None
    best_epoch: int | None
    epochs_trained: int | None
    intermediate: dict[int, float]
    fail_reason: str | None
    model_path: Path | None  # only when the file is on disk
    model_missing: bool  # kept by the study, but the file is gone
    seconds: float | None
    unfrozen_with_weights: int | None = None
    # Where model.keras will be once assembled: its head's weights are saved, the full
    # model not yet (a run that ended early; kept_models.py). None otherwise.
    pending_model_path: Path | None = None

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
    user_attrs: dict[str, Any] = field(default_factory=dict)

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
    attrs = trial.user_attrs
    path = attrs.get("model_path")
    on_disk = bool(path) and Path(path).is_file()
    pending = bool(path) and not on_disk and is_pending(Path(path).parent)
    seconds = None
    if trial.datetime_start and trial.datetime_complete:
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return TrialRow(
        number=trial.number,
        state=STATE_NAMES.get(trial.state, trial.state.name.lower()),
        value=trial.value if trial.state == optuna.trial.TrialState.COMPLETE else None,
        params=attrs.get("params") or {},
        val_metrics=attrs.get("val_metrics"),
        test_metrics=attrs.get("test_metrics"),
        best_epoch=attrs.get("best_epoch"),
        epochs_trained=attrs.get("epochs_trained"),
        intermediate=dict(trial.intermediate_values),
        fail_reason=attrs.get("fail_reason"),
        model_path=Path(path) if on_disk else None,
        # Only the top-K trials keep their model; for them a missing file is a problem.
        model_missing=bool(path) and not on_disk and not pending and trial.number in kept,
        seconds=seconds,
        unfrozen_with_weights=attrs.get("unfrozen_with_weights"),
        pending_model_path=Path(path) if pending else None,
    )


def load_study(storage_url: str, study_name: str | None = None) -> StudyRecord:
    storage = open_storage(storage_url)
    name = resolve_study_name(storage, storage_url, study_name)
    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    keep_top_k = int(study.user_attrs.get("keep_top_k", 0))
    completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    kept = {t.number for t in sorted(completed, key=lambda t: (-float(t.value), t.number))[:keep_top_k]}  # type: ignore[arg-type]
    return StudyRecord(
        name=name,
        storage_url=storage_url,
        rows=[_row(t, kept) for t in trials],
        user_attrs=dict(study.user_attrs),
    )


def _metric(metrics: dict[str, Any] | None, *keys: str) -> Any:
    value: Any = metrics
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def trials_frame(record: StudyRecord) -> pd.DataFrame:
    """One row per trial, every stored metric as a column (the CSV `report` writes)."""
    rows = []
    for r in record.rows:
        p, v, t = r.params, r.val_metrics, r.test_metrics
        ci = _metric(v, "auc_ci95") or [None, None]
        row: dict[str, Any] = {
            "trial": r.number,
            "state": r.state,
            "family": r.family,
            "head": r.head,
            "fine_tune": p.get("fine_tune"),
            "unfrozen_layers": p.get("unfrozen_layers") if p.get("fine_tune") else None,
            "unfrozen_with_weights": r.unfrozen_with_weights,
            "learning_rate": p.get("learning_rate"),
            "fine_tune_learning_rate": p.get("fine_tune_learning_rate") if p.get("fine_tune") else None,
            "optimizer": p.get("optimizer"),
            "batch_size": p.get("batch_size"),
            "input_size": p.get("input_size"),
            "epochs_trained": r.epochs_trained,
            "best_epoch": r.best_epoch,
            "val_auc": r.value,
            "val_auc_ci_low": ci[0],
            "val_auc_ci_high": ci[1],
            "val_average_precision": _metric(v, "average_precision"),
            "fold_aucs": " ".join(f"{a:.3f}" for a in (_metric(v, "fold_aucs") or [])) or None,
            "pooled_oof_auc": _metric(v, "auc") if _metric(v, "fold_aucs") else None,
            "collapsed": _metric(v, "collapsed"),
            "youden_threshold": _metric(v, "youden_threshold"),
            "last_reported_val_auc": r.last_intermediate,
            "seconds": r.seconds,
            "fail_reason": r.fail_reason,
            "model_file": str(r.model_path) if r.model_path else None,
        }
        for where in ("at_0.5", "at_youden"):
            suffix = "05" if where == "at_0.5" else "youden"
            for name in ("accuracy", "precision", "recall", "specificity", "f1"):
                row[f"val_{name}_{suffix}"] = _metric(v, where, name)
            cm = _metric(v, where, "confusion_matrix")
            for i, cell in enumerate(("tn", "fp", "fn", "tp")):
                row[f"val_{cell}_{suffix}"] = None if cm is None else cm[i // 2][i % 2]
        if t is not None:
            row["test_auc"] = _metric(t, "auc")
            tci = _metric(t, "auc_ci95") or [None, None]
            row["test_auc_ci_low"], row["test_auc_ci_high"] = tci
            for name in ("accuracy", "precision", "recall", "specificity", "f1"):
                row[f"test_{name}_youden"] = _metric(t, "at_youden", name)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values(["val_auc", "trial"], ascending=[False, True], na_position="last", kind="stable")
    return frame.reset_index(drop=True)
