"""`report --html`: one self-contained HTML page with everything the terminal report shows.

Plots are inlined as base64 PNG data URIs and the CSS sits in the page, so the single file
can be mailed or attached to a review and opens with no network and no other file. Text is
escaped in html_parts.py, the only place that turns values into markup.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from mammosearch.files import write_atomically
from mammosearch.report._readable import param_name
from mammosearch.report.html._facts import fingerprint_section, model_card_section
from mammosearch.report.html._parts import auc_ci, bullet_list, esc, facts, inline_png, is_missing, page, paragraph, rate, section, table
from mammosearch.report.leaderboard import Report, run_end_note
from mammosearch.spec import NEAR_COLLAPSE, RATES, brief_rates, labels_text
from mammosearch.store import StudyRecord, owned_study_dir
from mammosearch.words import plural

# The page's leaderboard: (title, leaderboard key); None: a cell made from several keys (rank,
# flag, interval). Twenty columns do not fit a 1280 px window or a printed page, and the ones
# cut were the Youden operating point's, the threshold the model card recommends; so the page
# shows what trials are compared by (AUC, AP and the Youden operating point) and leaves the
# 0.5-threshold metrics, confusion counts and fold AUCs to leaderboard.csv, which has every column.
LEADERBOARD: list[tuple[str, str | None]] = [
    ("#", None), ("trial", "trial"), ("flag", None), ("family", "family"), ("head", "head"), ("lr", "learning_rate"),
    ("fine-tuning", "unfrozen_layers"), ("best epoch", "best_epoch"), ("val AUC", "val_auc"),
    ("95% CI", None), ("pooled OOF AUC", "pooled_oof_auc"), ("AP", "val_average_precision"), ("Youden thr", "youden_threshold"),
    *((f"Youden {rate.short}", f"val_{rate.key}_youden") for rate in brief_rates()), ("test AUC", "test_auc"),
]
_NOT_BRIEF = [rate for rate in RATES if not rate.brief]
CSV_ONLY_NOTE = (f"{labels_text(RATES)} at threshold 0.5, " + (f"{labels_text(_NOT_BRIEF)} at the Youden threshold, " if _NOT_BRIEF else "")
                 + "the confusion counts and the fold AUCs")
# Under cross-validation each AUC comes with its own spread: the mean fold AUC with its folds'
# SD, the pooled out-of-fold AUC with its bootstrap interval (never one figure with the other's).
CV_AUC_COLUMNS: dict[str, list[tuple[str, str | None]]] = {
    "val_auc": [("mean fold AUC", "val_auc"), ("fold SD", "fold_auc_sd")],
    "pooled_oof_auc": [("pooled OOF AUC", "pooled_oof_auc"), ("pooled 95% CI", None)],
}
INTEGER_KEYS = {"trial", "unfrozen_layers", "best_epoch", "trials", "complete", "pruned", "failed", "best_trial"}
RATE_KEYS = {"learning_rate", "fine_tune_learning_rate"}
PLOT_CAPTIONS = {
    "roc_top.png": "Validation ROC of the top trials",
    "confusion_best.png": "Best trial, validation, threshold 0.5",
    "roc_test_top.png": "Test ROC of the top trials",
    "confusion_best_test.png": "Best trial, test split, threshold chosen on validation",
    "history.png": "Optimization history",
    "importance.png": "Hyper-parameter importance",
}


def _flag(row: Mapping[Hashable, Any]) -> str:
    return "single class" if row.get("collapsed") is True else "near-collapsed" if row.get("near_collapsed") is True else ""


def _fine_tuning(row: Mapping[Hashable, Any]) -> str:
    """Unfrozen layers and their learning rate in one cell: one setting, read together."""
    layers, speed = row.get("unfrozen_layers"), row.get("fine_tune_learning_rate")
    if is_missing(layers) or not layers:
        # As the terminal leaderboard says it: "frozen" is feature extraction, "-" no backbone at all.
        return "frozen" if row.get("family") not in (None, "cnn") else "-"
    return f"top {int(layers)}" + ("" if is_missing(speed) else f", lr {rate(speed)}")


def page_columns(board: pd.DataFrame) -> list[tuple[str, str | None]]:
    """The page's columns for this leaderboard: a column no trial has a value in (no fine-tuning in a CNN study,
    no pooled AUC without folds, no test split) takes no width from the ones that have."""
    columns = [(t, k) for t, k in LEADERBOARD if k is None or (k in board.columns and not board[k].isna().all())]
    if any(k == "pooled_oof_auc" for _, k in columns):
        columns = [c for t, k in columns if t != "95% CI" for c in CV_AUC_COLUMNS.get(k or "", [(t, k)])]
    return columns


def _leaderboard(report: Report) -> str:
    board = report.leaderboard
    if board.empty:
        return paragraph("no completed trial yet", "muted")
    columns = page_columns(board)
    rows, classes = [], []
    for rank, row in enumerate(board.to_dict(orient="records"), start=1):
        cells: list[Any] = []
        for title, key in columns:
            if title == "#":
                cells.append(rank)
            elif title == "flag":
                cells.append(_flag(row))
            elif title in ("95% CI", "pooled 95% CI"):
                prefix = "pooled_oof_auc" if title == "pooled 95% CI" else "val_auc"
                low, high = row.get(f"{prefix}_ci_low"), row.get(f"{prefix}_ci_high")
                cells.append("-" if is_missing(low) else f"{low:.3f}-{high:.3f}")
            elif title == "fine-tuning":
                cells.append(_fine_tuning(row))
            elif key in INTEGER_KEYS and not is_missing(row.get(key)):
                cells.append(int(row[key]))  # pandas makes a column with a gap float
            elif key in RATE_KEYS and not is_missing(row.get(key)):
                cells.append(rate(row[key]))  # log-sampled: significant digits, not decimals
            else:
                cells.append(row.get(key) if key else None)
        rows.append(cells)
        classes.append("best" if rank == 1 else "flagged" if _flag(row) else "")
    titles = [t for t, _ in columns]
    note = paragraph(f"flag: single class = every validation score on one side of 0.5; near-collapsed = sensitivity or specificity "
                     f"below {NEAR_COLLAPSE} at the Youden threshold. Not shown here ({CSV_ONLY_NOTE}): leaderboard.csv holds every column.", "muted")
    return table(titles, rows, table_id="leaderboard", text_columns=[i for i, t in enumerate(titles) if t in ("family", "head", "fine-tuning", "flag")], row_classes=classes) + note


def _test_split(report: Report) -> str:
    board = report.leaderboard
    if board.empty or "test_auc" not in board.columns or board["test_auc"].isna().all():
        return ""
    rows = []
    for row in board.to_dict(orient="records"):
        rows.append([
            int(row["trial"]), auc_ci(row.get("test_auc"), [row.get("test_auc_ci_low"), row.get("test_auc_ci_high")]), row.get("test_threshold"),
            *(row.get(f"test_{rate.key}_youden") for rate in RATES),
            "near-collapsed" if row.get("test_near_collapsed") is True else "",
        ])
    titles = ["trial", "test AUC (95% CI)", "threshold", *(rate.label for rate in RATES), "flag"]
    return section(
        "Test split, top trials",
        paragraph("Each trial's threshold was chosen on validation (Youden's J) and applied unchanged to the test split."),
        table(titles, rows, text_columns=(1, len(titles) - 1)),
        section_id="test-split",
    )


def _families(report: Report) -> str:
    keys = ("family", "trials", "complete", "pruned", "failed", "best_val_auc", "median_val_auc", "best_trial")
    rows = [[int(row[k]) if k in INTEGER_KEYS and not is_missing(row.get(k)) else row.get(k) for k in keys] for row in report.families.to_dict(orient="records")]
    return section("Per family", table(["family", "trials", "complete", "pruned", "failed", "best AUC", "median AUC", "best trial"], rows), section_id="families")


def _estimates(report: Report) -> str:
    pairs: list[tuple[str, Any]] = []
    if report.honest_test is not None:
        test = report.honest_test
        pairs.append((f"honest figure: trial {test['trial']}'s test AUC", f"{auc_ci(test['auc'], test.get('ci95'))} (the test split chose nothing)"))
    if report.bbc is not None:
        bbc = report.bbc
        pairs.append(("BBC-CV estimate of the selected configuration", f"AUC {auc_ci(bbc['auc'], bbc['ci95'])} ({plural(bbc['trials'], 'complete trial')}, "
                      f"{bbc['resamples']} patient resamples; trial {bbc['most_chosen_trial']} chosen in {bbc['most_chosen_share']:.0%})"))
    if report.best is not None:
        # Each of the best trial's AUCs with its own interval (metrics/figures.py).
        pairs += [(f"best trial {report.best.number}'s {name}", f"{figure} (the maximum over the trials: optimistic)") for name, figure in report.best_figures]
    if report.ensemble is not None:
        members = ", ".join(str(m) for m in report.ensemble["members"])
        for split, scores in report.ensemble["splits"].items():
            pairs.append((f"ensemble of trials {members} ({split.replace('_', '-')})", f"{auc_ci(scores['ensemble']['auc'], scores['ensemble']['ci95'])}; "
                          f"best single {auc_ci(scores['best_single']['auc'], scores['best_single']['ci95'])}"))
    return section("Estimates to quote", facts(pairs), section_id="estimates") if pairs else ""


def _baselines(report: Report) -> str:
    parts = []
    if report.baselines:
        rows = [[b["name"], auc_ci(b["auc"], b.get("ci95")), b.get("evaluated_on")] for b in report.baselines]
        parts.append(table(["model", "AUC (95% CI)", "evaluated on"], rows, text_columns=(0, 2)))
    if report.baseline_verdict is not None and report.best is not None:
        parts.append(paragraph(f"best trial {report.best.number} against the trivial baseline: {report.baseline_verdict}"))
    if report.subgroups:
        rows = [[s["split"], f"{s['kind']}: {s['group']}", s["benign"], s["malignant"], auc_ci(s["auc"], s.get("ci95"))] for s in report.subgroups]
        parts.append("<h3>Best trial within subgroups</h3>" + table(["split", "subgroup", "benign", "malignant", "AUC (95% CI)"], rows, text_columns=(0, 1)))
    return section("Baselines and subgroups", *parts, section_id="baselines")


def _importance(report: Report) -> str:
    importance = report.importance
    if importance.skipped is not None:
        return section("Hyper-parameter importance", paragraph(f"skipped: {importance.skipped}", "muted"), section_id="importance")
    if not importance.values:
        return ""
    rows = [[param_name(name), name, value] for name, value in importance.values.items()]
    what = paragraph(f"{importance.evaluator}, over {plural(importance.trials, 'complete trial')} (importances sum to 1).", "muted")
    caution = paragraph(importance.caution, "note") if importance.caution else ""
    return section("Hyper-parameter importance", caution, what, table(["parameter", "Optuna name", "importance"], rows, text_columns=(0, 1)), section_id="importance")


def page_warnings(report: Report) -> list[str]:
    """The trials' warnings, then the data checks' (a shortcut baseline that predicts the label is one): all in one box."""
    return [*report.warnings, *(f"data check: {w}" for w in report.fingerprint_warnings)]


def _plots(report: Report) -> str:
    captions = {**PLOT_CAPTIONS, **report.plot_captions}  # the report's own say "pooled out-of-fold" under CV
    figures = [inline_png(p, captions.get(p.name, p.stem.replace("_", " "))) for p in report.files if p.suffix == ".png" and p.is_file()]
    return section("Plots", *figures, section_id="plots")


def _workers(report: Report) -> str:
    """Trials, busy and idle time per worker session, once a study had two or more (report/workers.py)."""
    if len(report.workers) < 2:
        return ""
    rows = [[w.worker, w.host, w.trials, w.complete, w.pruned, w.failed, round(w.busy_s), round(w.idle_s), f"{100 * w.busy_fraction:.0f}%"] for w in report.workers]
    return section("Per worker (busy: training; idle: start-up and gaps between trials)",
                   table(["worker", "host", "trials", "complete", "pruned", "failed", "busy s", "idle s", "busy"], rows, text_columns=(0, 1)), section_id="workers")


def render_html(record: StudyRecord, report: Report) -> str:
    counts = report.state_counts
    header = (
        f"<h1>mammosearch report: study {esc(report.study)}</h1>"
        + paragraph(report.data_description, "muted")
        + paragraph(f"trials: {counts.get('complete', 0)} complete, {counts.get('pruned', 0)} pruned, {counts.get('failed', 0)} failed"
                    + (f", {counts['running']} running" if counts.get("running") else "")
                    + f"; written {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
    )
    stopped = run_end_note(report.run_end)
    failures = bullet_list((f"trial {n}: {reason}" for n, reason in report.failures[:20]), "failures")
    body = "".join([
        header,
        paragraph(stopped, "note") if stopped else "",
        section("Warnings", bullet_list(page_warnings(report), "warnings"), section_id="warnings"),
        _estimates(report),
        section("Leaderboard (ranked by mean fold AUC; pooled out-of-fold predictions)" if "pooled_oof_auc" in report.leaderboard.columns
                and report.leaderboard["pooled_oof_auc"].notna().any() else "Leaderboard (validation; ranked by AUC)", _leaderboard(report), section_id="leaderboard-section"),
        _test_split(report),
        _families(report),
        _workers(report),
        _baselines(report),
        _importance(report),
        model_card_section(record, report.best),
        # Its warnings are in the warnings box at the top, where a reader looks for them; not twice.
        fingerprint_section({**record.context.fingerprint, "warnings": []} if record.context.fingerprint else None),
        _plots(report),
        section("Failed trials", failures, section_id="failures"),
    ])
    return page(f"mammosearch report: {report.study}", body)


def write_html(record: StudyRecord, report: Report, results_dir: Path) -> Path:
    """Write ``report.html`` beside the CSVs (results/<study>/report/), atomically: a kill mid-write leaves the old page or the new one."""
    text = render_html(record, report)
    path = owned_study_dir(results_dir, record.name, record.context.study_uid).report_dir() / "report.html"
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
