"""The terminal report's figures beside the leaderboard: estimates that survive selection, the
test split of the top trials, baselines and subgroups, and the hyper-parameter importances."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mammosearch.metrics import position, scored_on
from mammosearch.report.leaderboard import Report
from mammosearch.report.terminal._fit import fitting_columns, rates_to_drop
from mammosearch.spec import RATES
from mammosearch.words import plural


def auc_ci(auc: float | None, ci: Sequence[float] | None) -> str:
    if auc is None:
        return "-"
    return f"{auc:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def print_estimates(console: Console, report: Report) -> None:
    """Which figure to quote for the selected model: BBC-CV under CV, its test AUC with a test split;
    then the best trial's own figures, each with its own interval (optimistic: the maximum over the trials)."""
    if report.best is not None and report.best_figures:
        figures = "; ".join(f"{name} {escape(figure)}" for name, figure in report.best_figures)
        console.print(f"best trial {report.best.number}: {figures} (the maximum over the trials: optimistic)")
    if report.bbc is not None and report.best is not None:
        bbc = report.bbc
        console.print(
            f"[bold]BBC-CV estimate[/] of the selected configuration: AUC {auc_ci(bbc['auc'], bbc['ci95'])} "
            f"({plural(bbc['trials'], 'complete trial')}, {bbc['resamples']} patient resamples; trial {bbc['most_chosen_trial']} chosen in "
            f"{bbc['most_chosen_share']:.0%}). The best mean fold AUC, {report.best.value:.3f}, is the maximum over the trials and optimistic."
        )
    if report.ensemble is not None:
        for split, scores in report.ensemble["splits"].items():
            members = ", ".join(str(m) for m in report.ensemble["members"])
            console.print(
                f"ensemble of trials {members} ({split.replace('_', '-')}): AUC {auc_ci(scores['ensemble']['auc'], scores['ensemble']['ci95'])} "
                f"| best single: {auc_ci(scores['best_single']['auc'], scores['best_single']['ci95'])}"
            )
    print_predictors(console, report)
    if report.honest_test is not None:
        test = report.honest_test
        console.print(f"[bold]honest figure[/]: trial {test['trial']}'s test AUC {auc_ci(test['auc'], test['ci95'])} (the test split chose nothing)")


def print_predictors(console: Console, report: Report) -> None:
    """Single model, top-K ensemble, fold ensemble, with and without flip TTA, on the same images (report/predictors.py)."""
    if not report.predictors:
        return
    pooled = report.predictors[0]["selection_on"]
    table = Table(title="Predictors side by side (the same images; AUC with 95% CI by patient)", header_style="bold")
    for title in ("predictor", "TTA", f"{pooled} AUC", "test AUC"):
        table.add_column(title)

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        return escape(value) if isinstance(value, str) else f"{auc_ci(value['auc'], value['ci95'])} n={value['images']}"

    for row in report.predictors:
        table.add_row(escape(row["predictor"]), row["tta"], cell(row["selection"]), cell(row["test"]))
    console.print(table)


def print_baselines(console: Console, report: Report) -> None:
    """Did the search beat what needs no search? The trivial baseline and the linear probes, on the same folds."""
    if not report.baselines or report.best is None:
        return
    best = report.best.val_metrics
    mine = None if best is None else best.auc
    table = Table(title=f"Baselines, evaluated like the trials ({report.baselines[0]['evaluated_on']})", header_style="bold")
    # The best trial's AUC on the same evaluation (pooled out-of-fold under CV), against each interval.
    for title in ("model", "AUC (95% CI)", f"best trial's {scored_on(best)} AUC vs this CI"):
        table.add_column(title)
    for baseline in report.baselines:
        table.add_row(escape(baseline["name"]), auc_ci(baseline["auc"], baseline["ci95"]), position(mine, baseline.get("ci95")) or "-")
    table.add_row(f"best trial {report.best.number} ({scored_on(best)})", auc_ci(mine, None if best is None else best.auc_ci95), "")
    if report.bbc is not None:
        table.add_row("BBC-CV estimate (selection-corrected)", auc_ci(report.bbc["auc"], report.bbc["ci95"]), "")
    console.print(table)


def print_baseline_and_subgroups(console: Console, report: Report) -> None:
    """The baselines and the shortcut check beside the best trial, and the best trial per subgroup."""
    print_baselines(console, report)
    if report.baseline_verdict is not None and report.best is not None:
        console.print(f"best trial {report.best.number} against the trivial baseline: {escape(report.baseline_verdict)}")
    if report.shortcut_check is not None and report.best is not None and not report.baselines:
        # A study recorded before baselines were: only the data check's shortcut fit exists, and it is not the baseline.
        val = (report.shortcut_check["scores"] or {}).get("val") or {}
        console.print(
            f"shortcut check (data check: untuned logistic regression on image statistics, fitted on the training split; "
            f"not the study's baseline): validation split AUC {auc_ci(val.get('auc'), val.get('ci95'))}"
        )
    if not report.subgroups:
        return
    table = Table(title=f"Best trial {report.best.number if report.best else '-'} within subgroups", header_style="bold")
    for title in ("split", "subgroup", "benign", "malignant", "AUC (95% CI)"):
        table.add_column(title, justify="right" if title in ("benign", "malignant") else "left")
    for row in report.subgroups:
        table.add_row(row["split"], f"{row['kind']}: {escape(row['group'])}", str(row["benign"]), str(row["malignant"]), auc_ci(row["auc"], row["ci95"]))
    console.print(table)


def _rate(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):.3f}"


def print_test_split(console: Console, report: Report) -> None:
    """The top trials on the test split: AUC with its CI, and every rate of the table at the validation-chosen threshold
    (those that are not brief given up first when the terminal is narrow; leaderboard.csv and the HTML page have them all)."""
    board = report.leaderboard
    if board.empty or "test_auc" not in board.columns or board["test_auc"].isna().all():
        return
    titles = ["trial", "test AUC (95% CI)", "thr", *(rate.short for rate in RATES), "flag"]
    rows = []
    for row in board.to_dict(orient="records"):
        low, high = row.get("test_auc_ci_low"), row.get("test_auc_ci_high")
        ci = None if low is None or (isinstance(low, float) and math.isnan(low)) else [low, high]
        auc = row.get("test_auc")
        rows.append([
            str(int(row["trial"])), auc_ci(None if auc is None or math.isnan(auc) else float(auc), ci), _rate(row.get("test_threshold")),
            *(rate.format(row.get(f"test_{rate.key}_youden")) for rate in RATES),
            "near" if row.get("test_near_collapsed") is True else "",
        ])
    others, brief = rates_to_drop()
    shown, _ = fitting_columns(console.width, titles, rows, [r.short for r in reversed(others)] + [r.short for r in brief])
    table = Table(title="Test split, top trials (threshold chosen on validation, Youden)", header_style="bold")
    for i in shown:
        table.add_column(titles[i], justify="left" if titles[i] == "flag" else "right")
    for cells in rows:
        table.add_row(*(cells[i] for i in shown))
    console.print(table)


def print_importance(console: Console, report: Report) -> None:
    """Hyper-parameter importances as a table, or the one line saying why there are none."""
    importance = report.importance
    if importance.skipped is not None:
        console.print(f"[dim]hyper-parameter importance: skipped, {escape(importance.skipped)}[/]")
        return
    if not importance.values:
        return
    table = Table(title=f"Hyper-parameter importance ({plural(importance.trials, 'complete trial')}; {escape(importance.evaluator)})", header_style="bold")
    table.add_column("parameter")
    table.add_column("importance", justify="right")
    table.add_column("", justify="left")
    for name, value in importance.values.items():
        table.add_row(escape(name), f"{value:.3f}", "#" * round(value * 20))
    console.print(table)
    if importance.caution:
        console.print(f"[yellow]importance: {escape(importance.caution)}[/]")
