"""Printing a :class:`~mammosearch.report.Report` as rich tables (the `report --format table` view)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mammosearch.metrics import scored_on
from mammosearch.report.data_summary import DataSummary
from mammosearch.report.leaderboard import Report, run_end_note
from mammosearch.report.terminal._estimates import print_baseline_and_subgroups, print_estimates, print_importance, print_test_split
from mammosearch.report.terminal._fit import fitting_columns, rates_to_drop
from mammosearch.spec import F1, NEAR_COLLAPSE, RATES

INTEGER_COLUMNS = {"trial", "unfrozen_layers", "best_epoch", "input_size", "best_trial", "trials", "complete", "pruned", "failed"}


def _fmt(value: Any, digits: int = 3, integer: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if integer and isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.{digits}f}"
    return escape(str(value))


def print_report(console: Console, report: Report) -> None:
    counts = report.state_counts
    console.print(f"[bold]study[/] {escape(report.study)}  [dim]{escape(report.data_description)}[/]")
    console.print(
        f"trials: {counts.get('complete', 0)} complete, {counts.get('pruned', 0)} pruned, "
        f"{counts.get('failed', 0)} failed" + (f", {counts['running']} running" if counts.get("running") else "")
    )
    stopped = run_end_note(report.run_end)
    if stopped:
        console.print(f"[yellow]{escape(stopped)}[/]")
    board = report.leaderboard
    if board.empty:
        console.print("[yellow]no completed trial yet[/]")
    else:
        columns = _leaderboard_columns(board)
        table, hidden = _fitting_table(console, columns, board)
        console.print(table)
        if hidden:
            console.print(f"[dim]{len(hidden)} column(s) hidden at this terminal width ({', '.join(hidden)}); every column is in leaderboard.csv[/]")
        if _any_true(board, "near_collapsed") or _any_true(board, "collapsed"):
            console.print(
                f"[dim]trial*: every validation score on one side of 0.5 (single class); trial!: near-collapsed, sensitivity or "
                f"specificity below {NEAR_COLLAPSE} at the Youden threshold[/]"
            )

    families = Table(title="Per family", header_style="bold")
    for title in ("family", "trials", "complete", "pruned", "failed", "best AUC", "median AUC", "best trial"):
        families.add_column(title)
    for row in report.families.to_dict(orient="records"):
        families.add_row(*(_fmt(row.get(k), integer=k in INTEGER_COLUMNS) for k in ("family", "trials", "complete", "pruned", "failed", "best_val_auc", "median_val_auc", "best_trial")))
    console.print(families)

    chosen = report.best.val_metrics if report.best is not None else None
    confusion = None if chosen is None or chosen.at_05 is None else chosen.at_05.confusion
    if report.best is not None and confusion is not None:
        console.print(
            f"best trial {report.best.number}: confusion matrix at 0.5 on the {scored_on(chosen)} predictions (rows true benign/malignant): "
            f"[[TN {confusion.tn}, FP {confusion.fp}], [FN {confusion.fn}, TP {confusion.tp}]]"
        )
    print_test_split(console, report)
    print_estimates(console, report)
    print_baseline_and_subgroups(console, report)
    print_importance(console, report)
    print_workers(console, report)
    for number, reason in report.failures[:10]:
        console.print(f"[red]failed[/] trial {number}: {escape(reason)}")
    for note in report.warnings + report.fingerprint_warnings:
        console.print(f"[yellow]warning:[/] {escape(note)}")
    if report.kept_bytes:
        console.print(f"[dim]kept models (study.keep_top_k, what export-best and --ensemble use): {report.kept_bytes / 1e6:.1f} MB[/]")
    if report.files:
        console.print(f"[dim]written: {escape(str(report.files[0].parent))}/ ({', '.join(p.name for p in report.files)})[/]")


def _any_true(board: Any, key: str) -> bool:
    return key in board.columns and bool((board[key] == True).any())  # noqa: E712 - None (no metrics) is not a flag


Column = tuple[str, "str | None"]  # (title, leaderboard key); None: computed from several keys

# Dropped in this order while the terminal is too narrow for every column (at 80 columns
# only those that always stay fit: rank, trial, family, head, AUC with its interval,
# sensitivity, specificity and test AUC): the rates of the table that are not brief after
# AP, the brief ones last (_fit.rates_to_drop).
_OTHER_RATES, _BRIEF_RATES = rates_to_drop()
OPTIONAL_COLUMNS = ("fold SD", "F1@Youden", "Youden thr", "ft lr", "AP", *(r.short for r in _OTHER_RATES), "unfrozen", "lr",
                    *(r.short for r in _BRIEF_RATES))


POOLED_CI = "pooled\n95% CI"


def _leaderboard_columns(board: Any) -> list[Column]:
    columns: list[Column] = [
        ("#", None), ("trial", "trial"), ("family", "family"), ("head", "head"), ("unfrozen", "unfrozen_layers"),
        ("lr", "learning_rate"), ("ft lr", "fine_tune_learning_rate"), ("AUC", "val_auc"), ("AUC 95% CI", None),
        ("AP", "val_average_precision"), *((rate.short, f"val_{rate.key}_05") for rate in RATES),
        ("Youden thr", "youden_threshold"), (f"{F1.short}@Youden", f"val_{F1.key}_youden"),
    ]
    if _cross_validated(board):
        # Mean fold AUC ranks the trials, with the folds' spread; the bootstrap CI belongs to
        # the pooled out-of-fold AUC and sits beside it, never beside the mean.
        at = [title for title, _ in columns].index("AUC")
        # Two-line titles: with four AUC columns an 80-column terminal has no room for one-line ones.
        columns[at] = ("mean fold\nAUC", "val_auc")
        columns[at + 1] = ("fold SD", "fold_auc_sd")
        columns.insert(at + 2, ("pooled\nAUC", "pooled_oof_auc"))
        columns.insert(at + 3, (POOLED_CI, None))
    if "test_auc" in board.columns:
        columns.append(("test AUC", "test_auc"))
    return columns


def _cross_validated(board: Any) -> bool:
    return "pooled_oof_auc" in board.columns and bool(board["pooled_oof_auc"].notna().any())


def _leaderboard_cells(columns: list[Column], board: Any) -> list[list[str]]:
    rows = []
    for rank, row in enumerate(board.to_dict(orient="records"), start=1):
        cells = []
        for title, key in columns:
            if title == "#":
                cells.append(str(rank))
            elif key == "trial":
                # A mark on the trial number, not a column of its own: an 80-column terminal has no room left.
                cells.append(str(int(row["trial"])) + ("!" if row.get("near_collapsed") is True else "") + ("*" if row.get("collapsed") is True else ""))
            elif title in ("AUC 95% CI", POOLED_CI):
                prefix = "pooled_oof_auc" if title == POOLED_CI else "val_auc"
                low, high = row.get(f"{prefix}_ci_low"), row.get(f"{prefix}_ci_high")
                cells.append("-" if low is None or (isinstance(low, float) and math.isnan(low)) else f"{low:.3f}-{high:.3f}")
            elif key == "unfrozen_layers":
                cells.append(_fmt(row.get(key), integer=True) if row.get("fine_tune") else "frozen" if row.get("family") != "cnn" else "-")
            else:
                cells.append(_fmt(row.get(key), integer=key in INTEGER_COLUMNS))
        rows.append(cells)
    return rows


def _fitting_table(console: Console, columns: list[Column], board: Any) -> tuple[Table, list[str]]:
    """The leaderboard with as many columns as fit the console without cutting cells; the hidden titles."""
    titles = [title for title, _ in columns]
    rows = _leaderboard_cells(columns, board)
    shown, hidden = fitting_columns(console.width, titles, rows, OPTIONAL_COLUMNS)
    title = (
        "Leaderboard (ranked by mean fold AUC; pooled = pooled out-of-fold predictions, which the other metrics are on; threshold 0.5 unless noted)"
        if _cross_validated(board) else "Leaderboard (validation; threshold 0.5 unless noted)"
    )
    table = Table(title=title, header_style="bold")
    for i in shown:
        table.add_column(titles[i], justify="left" if titles[i] in ("family", "head") else "right")
    for rank, cells in enumerate(rows, start=1):
        table.add_row(*(cells[i] for i in shown), style="bold green" if rank == 1 else None)
    return table, hidden


def print_data_summary(console: Console, summary: DataSummary, cv_folds: int | None) -> None:
    console.print(f"[bold]data[/] {escape(summary.description)}")
    console.print(f"images as the model sees them: {' x '.join(map(str, summary.image_shape))} (uint8)")
    table = Table(title="Images (patients) per split and class", header_style="bold")
    for title in ("split", "benign", "malignant", "patients"):
        table.add_column(title, justify="left" if title == "split" else "right")
    for row in summary.counts.to_dict(orient="records"):
        table.add_row(
            str(row["split"]),
            f"{row['benign_images']} ({row['benign_patients']})",
            f"{row['malignant_images']} ({row['malignant_patients']})",
            str(row["patients"]),
        )
    console.print(table)
    stats = Table(title="Pixel values per class", header_style="bold")
    for title in ("class", "mean", "std", "min", "max"):
        stats.add_column(title)
    for row in summary.intensity.to_dict(orient="records"):
        stats.add_row(*(_fmt(row[k], 1) for k in ("class", "mean", "std", "min", "max")))
    console.print(stats)
    console.print(f"patient leakage between splits: {escape(summary.leakage)}")
    if cv_folds:
        console.print(f"cross-validation: {cv_folds} patient-grouped stratified folds over train+val; test held out")
    for note in summary.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def print_workers(console: Console, report: Report) -> None:
    """Trials, busy and idle time per worker: shown once a study had two or more (workers.csv holds them either way)."""
    if len(report.workers) < 2:
        return
    table = Table(title="Per worker (busy: training; idle: start-up and gaps between trials)", header_style="bold")
    for title in ("worker", "host", "trials", "complete", "pruned", "failed", "busy s", "idle s", "busy %"):
        table.add_column(title)
    for w in report.workers:
        table.add_row(escape(w.worker), escape(w.host), str(w.trials), str(w.complete), str(w.pruned), str(w.failed),
                      f"{w.busy_s:.0f}", f"{w.idle_s:.0f}", f"{100 * w.busy_fraction:.0f}")
    console.print(table)
