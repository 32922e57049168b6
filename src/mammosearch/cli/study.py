"""Commands that read a study: `report`, `export-best`, and `validate` for a space."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mammosearch import runtime
from mammosearch.cli.app import (
    SEARCH,
    ArtifactsOption,
    Format,
    ResultsOption,
    StorageOption,
    StudyOption,
    app,
    console,
    err_console,
    friendly_errors,
    resolve_storage,
)
from mammosearch.words import plural


@app.command(rich_help_panel=SEARCH)
@friendly_errors
def report(
    study: StudyOption = None,
    storage: StorageOption = None,
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the best trials to list and plot.")] = 10,
    format: Annotated[Format, typer.Option("--format", help="table (rich), csv or json on stdout; files are written either way.")] = Format.table,
    results_dir: ResultsOption = Path("results"),
    html: Annotated[bool, typer.Option("--html/--no-html", help="Also write report.html: one self-contained page (plots inlined) beside the CSVs.")] = True,
    artifacts: ArtifactsOption = None,
) -> None:
    """Leaderboard ranked by validation AUC with every metric; writes CSV, JSON, plots and an HTML page."""
    # The page first, as before the faces: the sorted order (leaderboard first) measured 0.3 s slower on this
    # 2-core machine (benchmarks/face_imports.py --with-study: the same libraries load, in another order).
    from mammosearch.report.html import write_html  # noqa: I001
    from mammosearch.report import build_report, report_json_text
    from mammosearch.report.terminal import print_report
    from mammosearch.store import load_study

    record = load_study(resolve_storage(storage, results_dir), study, results_dir, artifacts)
    built = build_report(record, results_dir, top_k=top)
    if format is Format.json:
        sys.stdout.write(report_json_text(built) + "\n")
    elif format is Format.csv:
        sys.stdout.write(built.leaderboard.to_csv(index=False))
    else:
        print_report(console, built)
    if html:
        page = write_html(record, built, results_dir)
        # On stderr under --format csv/json, so their stdout stays machine-readable.
        (console if format is Format.table else err_console).print(f"html report: {escape(str(page))}", soft_wrap=True)


@app.command("export-best", rich_help_panel=SEARCH)
@friendly_errors
def export_best(
    study: StudyOption = None,
    storage: StorageOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for model.keras, model_card.json and predictions.json.")] = Path("exported"),
    trial: Annotated[int | None, typer.Option("--trial", help="Export this trial instead of the best one.")] = None,
    ensemble: Annotated[int | None, typer.Option("--ensemble", min=2, help="Export one model averaging the top K kept trials (K <= study.keep_top_k).")] = None,
    folds: Annotated[bool, typer.Option("--folds", help="Cross-validation: export the trial's fold models as one model averaging them "
                                                         "(needs study.keep_fold_models: true in the search).")] = False,
    tta: Annotated[str, typer.Option("--tta", help="flip: build flip test-time augmentation into the exported model (the mean with the "
                                                   "mirror image); its threshold is chosen on the study's flip scores (evaluation.tta: flip).")] = "none",
    results_dir: ResultsOption = Path("results"),
    artifacts: ArtifactsOption = None,
) -> None:
    """Write the best trial's trained model (or an ensemble of the top K, or its fold models) and its model card (no retraining)."""
    from mammosearch.apply.export import export_best as do_export
    from mammosearch.apply.export import export_ensemble, export_folds
    from mammosearch.errors import ExportError
    from mammosearch.store import load_study

    if tta not in ("none", "flip"):
        raise ExportError(f"--tta {tta!r}: use flip or none")
    if ensemble is not None and (trial is not None or folds):
        raise ExportError("--ensemble and --trial or --folds exclude each other: export the top K trials, or one trial (its fold models with --folds)")
    runtime.import_keras_quietly()
    record = load_study(resolve_storage(storage, results_dir), study, results_dir, artifacts)
    if folds:
        result = export_folds(record, out, trial, tta)
    else:
        result = export_ensemble(record, out, ensemble, tta) if ensemble is not None else do_export(record, out, trial, tta)
    what = f"an ensemble led by trial {result.trial}" if ensemble is not None else f"trial {result.trial}" + ("'s fold models" if folds else "")
    what += " with flip TTA" if tta == "flip" else ""
    objective = "mean fold AUC" if record.context.cv_pool else "validation AUC"  # the value that ranked it
    console.print(f"exported {what} ({objective} {result.value:.4f}) of study {escape(record.name)}:")
    for path in (result.model_file, result.card_file, result.predictions_file):
        if path is not None:
            console.print(f"  {escape(str(path))}")


@app.command(rich_help_panel=SEARCH)
@friendly_errors
def validate(
    space: Annotated[Path, typer.Option("--space", "-s", help="YAML search space to check.")],
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space as run would, e.g. --set model.weights=none (repeatable).")] = None,
) -> None:
    """Check a search space (with the --set overrides run would get) without training anything."""
    from mammosearch.config import load_space

    loaded = load_space(space, overrides or ())
    budget = [plural(loaded.study.n_trials, "trial")] if loaded.study.n_trials is not None else []
    if loaded.study.timeout is not None:
        budget.append(f"timeout {loaded.study.timeout:g} s")
    console.print(f"[green]ok[/] {escape(str(space))}: study '{escape(loaded.study_name)}', families {', '.join(loaded.model.families)}, "
                  f"{', '.join(budget)}, sampler {loaded.study.sampler}, pruner {loaded.study.pruner.name}", highlight=False, soft_wrap=True)
