"""Leaderboard, per-family summary, CSV/JSON and plots for one study. No TensorFlow here."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mammosearch.files import write_atomically, write_json
from mammosearch.metrics import baseline_verdict, evaluated_on, objective_name, scored_on, selection_figures
from mammosearch.report._importance import Importance, last_run_end, open_optuna_study, param_importances
from mammosearch.report._trials_frame import CONFUSION_CELLS, rate_columns, trials_frame
from mammosearch.report._workers import WorkerActivity, worker_activity
from mammosearch.report.ensemble import ensemble_scores
from mammosearch.report.estimates import bbc_estimate, honest_test
from mammosearch.report.plots import RocCurve, plot_confusion_matrix, plot_optimization_history, plot_param_importances, plot_roc_curves
from mammosearch.report.predictors import predictor_rows
from mammosearch.report.subgroups import read_per_image, read_predictions, shortcut_check, subgroup_aucs
from mammosearch.spec import NEAR_COLLAPSE, SENSITIVITY, SPECIFICITY, Confusion, SplitMetrics, ThresholdMetrics
from mammosearch.store import StudyRecord, TrialRow, owned_study_dir, running_note
from mammosearch.store.record import RunEnd
from mammosearch.words import plural

# Every rate of the table (spec/rates.py) at 0.5 and at the Youden threshold: a new rate is a new column here too.
LEADERBOARD_COLUMNS = [
    "trial", "family", "head", "fine_tune", "unfrozen_layers", "learning_rate", "fine_tune_learning_rate",
    "input_size", "best_epoch", "val_auc", "val_auc_ci_low", "val_auc_ci_high", "fold_aucs", "fold_auc_sd",
    "pooled_oof_auc", "pooled_oof_auc_ci_low", "pooled_oof_auc_ci_high", "scored_on", "val_average_precision",
    *rate_columns("val", "05"), "youden_threshold", *rate_columns("val", "youden"),
    *(f"val_{cell}_05" for cell in CONFUSION_CELLS), "collapsed", "near_collapsed",
]
ENSEMBLE_SIZE = 3  # the report's ensemble: the top three kept trials (export-best --ensemble K for another K)
TEST_COLUMNS = ["test_auc", "test_auc_ci_low", "test_auc_ci_high", "test_threshold", *rate_columns("test", "youden"), "test_near_collapsed"]


@dataclass(frozen=True)
class Report:
    study: str
    data_description: str
    state_counts: dict[str, int]
    leaderboard: pd.DataFrame  # top K completed trials, best first
    families: pd.DataFrame  # one row per family
    best: TrialRow | None
    failures: list[tuple[int, str]]
    warnings: list[str]
    files: list[Path]
    # The data fingerprint's shortcut check (image statistics, untuned, fitted on the training
    # split): a warning sign, not the baseline; the baseline is the first of ``baselines``.
    shortcut_check: dict[str, Any] | None = None
    subgroups: list[dict[str, Any]] = field(default_factory=list)  # the best trial's AUC per subgroup
    fingerprint_warnings: list[str] = field(default_factory=list)
    bbc: dict[str, Any] | None = None  # BBC-CV estimate of the selected configuration (cross-validation)
    honest_test: dict[str, Any] | None = None  # the selected trial's test AUC (a test split)
    ensemble: dict[str, Any] | None = None  # the top kept trials averaged, from their stored scores
    predictors: list[dict[str, Any]] = field(default_factory=list)  # single / top-K / fold ensemble, +- flip TTA (predictors.py)
    baselines: list[dict[str, Any]] = field(default_factory=list)  # trivial baseline and linear probes, on the trials' folds
    kept_bytes: int = 0  # disk used by the kept trials' models (study.keep_top_k): what ensembles and export need
    importance: Importance = field(default_factory=Importance)  # hyper-parameter importances over the complete trials
    run_end: RunEnd | None = None  # how the last run stopped (its time limit or its trial budget), when recorded
    plot_captions: dict[str, str] = field(default_factory=dict)  # file name -> what the plot shows (written plots only)
    workers: list[WorkerActivity] = field(default_factory=list)  # trials, busy and idle time per worker session (workers.py)

    @property
    def best_figures(self) -> list[tuple[str, str]]:
        """The best trial's AUCs, each with its own name and interval (figures.py)."""
        return [] if self.best is None else selection_figures(self.best.val_metrics, self.best.value)

    @property
    def baseline_verdict(self) -> str | None:
        """Whether the best trial beat the study's trivial baseline (None without one)."""
        trivial = next((b for b in self.baselines if str(b.get("name", "")).startswith("trivial baseline")), None)
        return None if self.best is None else baseline_verdict(self.best.val_metrics, trivial)

    def to_json(self) -> dict[str, Any]:
        return {
            "study": self.study,
            "data": self.data_description,
            "state_counts": self.state_counts,
            "leaderboard": _records(self.leaderboard),
            "families": _records(self.families),
            "best_trial": None if self.best is None else self.best.number,
            "failures": [{"trial": n, "reason": r} for n, r in self.failures],
            "warnings": self.warnings,
            "best_trial_figures": [{"name": name, "figure": figure} for name, figure in self.best_figures],
            "shortcut_check": self.shortcut_check,
            "best_trial_subgroups": self.subgroups,
            "data_warnings": self.fingerprint_warnings,
            "bbc_cv": self.bbc,
            "selected_trial_test": self.honest_test,
            "ensemble": self.ensemble,
            "predictors": self.predictors,
            "baselines": self.baselines,
            "baseline_verdict": self.baseline_verdict,
            "kept_models_bytes": self.kept_bytes,
            "param_importances": self.importance.to_json(),
            "last_run_end": None if self.run_end is None else self.run_end.__dict__,
            "workers": [w.to_json() for w in self.workers],
            "files": [str(p) for p in self.files],
        }


def family_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per family: how many trials in each state, best and median validation AUC."""
    if frame.empty:
        return pd.DataFrame(columns=["family", "trials", "complete", "pruned", "failed", "best_val_auc", "median_val_auc", "best_trial"])
    rows = []
    for family, group in frame.groupby("family", dropna=False, sort=True):
        done = group[group["state"] == "complete"]
        best = done.sort_values(["val_auc", "trial"], ascending=[False, True]).head(1)
        rows.append({
            "family": family if isinstance(family, str) else "?",
            "trials": len(group),
            "complete": int((group["state"] == "complete").sum()),
            "pruned": int((group["state"] == "pruned").sum()),
            "failed": int((group["state"] == "failed").sum()),
            "best_val_auc": float(best["val_auc"].iloc[0]) if len(best) else None,
            "median_val_auc": float(done["val_auc"].median()) if len(done) else None,
            "best_trial": int(best["trial"].iloc[0]) if len(best) else None,
        })
    return pd.DataFrame(rows).sort_values("best_val_auc", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def run_end_note(end: RunEnd | None) -> str | None:
    """One sentence when the last run was stopped by its time limit (None otherwise)."""
    if end is None or not end.timed_out:
        return None
    limit = "" if end.timeout_seconds is None else f" of {end.timeout_seconds:g} s"
    done = "" if end.finished_trials is None else f" with {plural(end.finished_trials, 'trial')} finished"
    return f"the last run was stopped by its time limit (--timeout{limit}){done}, not by its trial budget; run the same command to continue"


def build_report(record: StudyRecord, results_dir: Path, top_k: int = 10, write_files: bool = True) -> Report:
    frame = trials_frame(record)
    ranked = record.ranked()
    leaderboard = frame[frame["state"] == "complete"].head(top_k) if not frame.empty else frame
    columns = [c for c in LEADERBOARD_COLUMNS + TEST_COLUMNS if c in leaderboard.columns]
    leaderboard = leaderboard[columns].reset_index(drop=True) if not leaderboard.empty else leaderboard
    warnings = _warnings(record, ranked[:top_k])
    best = ranked[0] if ranked else None
    fingerprint = record.context.fingerprint
    study_dir = owned_study_dir(results_dir, record.name, record.context.study_uid)
    per_image = read_per_image(study_dir.fingerprint_to_read())
    study = open_optuna_study(record)
    report = Report(
        study=record.name,
        data_description=record.context.data_description,
        state_counts=record.state_counts(),
        leaderboard=leaderboard,
        families=family_summary(frame),
        best=best,
        failures=[(r.number, r.fail_reason or "no reason recorded") for r in record.by_state("failed")],
        warnings=warnings,
        files=[],
        shortcut_check=shortcut_check(fingerprint),
        subgroups=subgroup_aucs(read_predictions(best.kept_model_path), per_image) if best is not None and per_image else [],
        fingerprint_warnings=list((fingerprint or {}).get("warnings", [])),
        bbc=bbc_estimate(record),
        honest_test=honest_test(best),
        ensemble=ensemble_scores(record, ENSEMBLE_SIZE),
        predictors=predictor_rows(record, ENSEMBLE_SIZE),
        baselines=[b for b in [record.context.trivial_baseline, *(record.context.linear_probes or [])] if b],
        kept_bytes=_kept_bytes(record),
        importance=param_importances(study),
        run_end=last_run_end(study),
        workers=[] if study is None else worker_activity(study.get_trials(deepcopy=False)),
    )
    if not write_files:
        return report
    files, captions = _write_files(record, report, frame, ranked[:top_k], study_dir.report_dir())
    return Report(**{**report.__dict__, "files": files, "plot_captions": captions})


def _kept_bytes(record: StudyRecord) -> int:
    folders = {path.parent for r in record.rows for path in (r.model_path, r.pending_model_path) if path is not None}
    # rglob: the other folds' models (study.keep_fold_models) sit in the trial folder's folds/
    return sum(f.stat().st_size for folder in folders if folder.is_dir() for f in folder.rglob("*") if f.is_file())


def _warnings(record: StudyRecord, top: list[TrialRow]) -> list[str]:
    notes = []
    for row in top:
        val, test = row.val_metrics, row.test_metrics
        if val is not None and val.collapsed:
            notes.append(f"trial {row.number} predicts a single class on {evaluated_on(val)} (collapsed); its AUC ranks scores but its threshold metrics are meaningless")
        elif val is not None and val.near_collapsed:
            notes.append(_near_collapse_note(row.number, f"{evaluated_on(val)} at its Youden threshold", val))
        if test is not None and test.near_collapsed:
            notes.append(_near_collapse_note(row.number, "the test split at the validation-chosen threshold", test))
        if row.model_missing:
            notes.append(f"trial {row.number}'s saved model is not on this machine: {row.missing_model_location}; export-best cannot use it here")
    running = running_note([r.number for r in record.by_state("running")])  # with how a killed run's trial is reclaimed
    notes += [running] if running else []
    return notes


def _near_collapse_note(number: int, where: str, metrics: SplitMetrics) -> str:
    at, threshold = metrics.at_youden, metrics.youden_threshold
    sens, spec = (None, None) if at is None else (at[SENSITIVITY], at[SPECIFICITY])
    rates = f"sensitivity {sens:.2f}, specificity {spec:.2f}" if sens is not None and spec is not None else "a single class predicted"
    at_threshold = "" if threshold is None else f" ({threshold:.3f})"
    return f"trial {number} is near-collapsed on {where}{at_threshold}: {rates}; below {NEAR_COLLAPSE} it calls almost every image one class"


def _write_files(record: StudyRecord, report: Report, frame: pd.DataFrame, top: list[TrialRow], out: Path) -> tuple[list[Path], dict[str, str]]:
    """The CSVs, report.json and the plots; with each plot's caption (pooled out-of-fold under CV, never "validation")."""
    out.mkdir(parents=True, exist_ok=True)
    files = [
        write_atomically(out / "trials.csv", lambda p: frame.to_csv(p, index=False)),
        write_atomically(out / "leaderboard.csv", lambda p: report.leaderboard.to_csv(p, index=False)),
        write_atomically(out / "families.csv", lambda p: report.families.to_csv(p, index=False)),
        write_json(out / "report.json", report.to_json()),
    ]
    if report.workers:
        files.append(write_atomically(out / "workers.csv", lambda p: pd.DataFrame([w.to_json() for w in report.workers]).to_csv(p, index=False)))
    title = f"study {record.name}"
    selection = top[0].val_metrics if top else None
    where = scored_on(selection)  # "validation", or "pooled out-of-fold" under cross-validation
    captions: dict[str, str] = {}
    curves = [
        RocCurve.from_evaluation(f"trial {r.number} ({r.family})", r.val_metrics)
        for r in top[:5]
        if r.val_metrics
    ]
    if curves:
        files.append(plot_roc_curves(curves, out / "roc_top.png", f"{title}: {where} ROC, top {len(curves)}"))
        captions["roc_top.png"] = f"{where.capitalize()} ROC of the top trials"
    chosen = top[0].val_metrics if top else None
    counts = _confusion(chosen.at_05 if chosen else None)
    if counts is not None:
        files.append(plot_confusion_matrix(counts.to_matrix(), out / "confusion_best.png", f"{title}: trial {top[0].number}, {where}, threshold 0.5"))
        captions["confusion_best.png"] = f"Best trial, {where}, threshold 0.5"
    files += _test_plots(top, out, title)
    if record.rows:
        values = [r.value if r.state == "complete" else r.last_intermediate for r in record.rows]
        files.append(plot_optimization_history(
            [r.number for r in record.rows], values, [r.state for r in record.rows], out / "history.png", f"{title}: optimization history",
            value_name=objective_name(selection),
        ))
        captions["history.png"] = f"Optimization history ({objective_name(selection)})"
    if report.importance.values:
        files.append(plot_param_importances(report.importance.values, out / "importance.png", f"{title}: hyper-parameter importance", value_name=objective_name(selection)))
    return files, captions


def _test_plots(top: list[TrialRow], out: Path, title: str) -> list[Path]:
    """The test split's ROC (top five) and the best trial's confusion matrix at its validation-chosen threshold."""
    files = []
    curves = [RocCurve.from_evaluation(f"trial {r.number} ({r.family})", r.test_metrics) for r in top[:5] if r.test_metrics and r.test_metrics.roc]
    if curves:
        files.append(plot_roc_curves(curves, out / "roc_test_top.png", f"{title}: test ROC, top {len(curves)}"))
    best = top[0].test_metrics if top else None
    counts = _confusion(best.at_youden if best else None)
    if best is not None and counts is not None:
        threshold = best.youden_threshold
        at = "" if threshold is None else f", threshold {threshold:.3f} (from validation)"
        files.append(plot_confusion_matrix(counts.to_matrix(), out / "confusion_best_test.png", f"{title}: trial {top[0].number}, test{at}"))
    return files


def _confusion(at: ThresholdMetrics | None) -> Confusion | None:
    return None if at is None else at.confusion


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if hasattr(value, "item"):
            return clean(value.item())
        return value

    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def report_json_text(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
