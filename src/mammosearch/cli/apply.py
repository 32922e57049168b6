"""`predict`, `evaluate` and `explain`: using a found model on new images."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mammosearch import runtime
from mammosearch.cli.app import (
    AFTER,
    ArtifactsOption,
    ResultsOption,
    StorageOption,
    StudyOption,
    app,
    console,
    friendly_errors,
    resolve_storage,
)
from mammosearch.data import shown
from mammosearch.errors import ApplyError
from mammosearch.spec import RATES

if TYPE_CHECKING:
    from mammosearch.apply import InputItem, ModelBundle, RangeCheck, Scored

PathsArgument = Annotated[list[Path], typer.Argument(
    metavar="MODEL INPUTS...",
    help="MODEL: an `export-best` folder (model.keras + model_card.json), left out when --study is given. "
         "INPUTS: image files, folders (searched recursively) or CSV manifests with a `path` column; DICOM included.",
    show_default=False)]
TrialOption = Annotated[int | None, typer.Option("--trial", help="With --study: this trial instead of the best kept one.")]
TtaOption = Annotated[str | None, typer.Option(
    "--tta", help="Test-time augmentation. flip: the mean of each image's and its mirror image's probability; none: the plain model. "
                  "Default: as exported (an `export-best --tta flip` model applies it by itself).", show_default=False)]


def load_bundle(paths: list[Path], study: str | None, trial: int | None, storage: str | None, results_dir: Path,
                tta: str | None = None, artifacts: str | None = None) -> tuple[ModelBundle, list[Path]]:
    """The model (the first path, or --study/--trial) with ``--tta`` applied, and the paths left for inputs."""
    from mammosearch.apply import load_exported, load_trial, with_tta

    if tta is not None and tta not in ("flip", "none"):
        raise ApplyError(f"--tta {tta!r}: use flip or none")
    runtime.import_keras_quietly()
    if study is not None or trial is not None:
        return with_tta(load_trial(resolve_storage(storage, results_dir), study, trial, results_dir, artifacts), tta), paths
    if not paths:
        raise ApplyError("no model given: pass an `export-best` folder first, or --study NAME [--trial N]")
    return with_tta(load_exported(paths[0]), tta), paths[1:]


def load_bundle_and_inputs(paths: list[Path], study: str | None, trial: int | None, storage: str | None,
                           results_dir: Path, tta: str | None = None, artifacts: str | None = None) -> tuple[ModelBundle, list[InputItem]]:
    """``predict`` and ``explain``: the model, and the image files its INPUTS name."""
    from mammosearch.apply import gather_inputs
    from mammosearch.data import max_pixels

    max_pixels()  # a malformed MAMMOSEARCH_MAX_PIXELS is one line before anything is scored, not a failure per file
    bundle, inputs = load_bundle(paths, study, trial, storage, results_dir, tta, artifacts)
    if not inputs:
        raise ApplyError("no INPUTS given: name image files, folders or a CSV manifest after the model")
    return bundle, gather_inputs(inputs, (bundle.task.negative, bundle.task.positive))


def exit_on_failures(failures: list[tuple[Path, str]]) -> None:
    """Each file that could not be read, with its reason; exit code 3 when there was any (the rest were written)."""
    for path, reason in failures:
        console.print(f"[red]failed:[/] {escape(shown(path))}: {escape(shown(reason))}", soft_wrap=True)
    if failures:
        raise typer.Exit(3)


@contextlib.contextmanager
def writing(where: Path) -> Iterator[None]:
    """A folder or file that cannot be written is one line naming it, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise ApplyError(f"cannot write to {where}: {exc.strerror or exc}; give --out a writable place") from None


def progress_bar(what: str) -> Progress:
    """A rich bar on a terminal; nothing otherwise, where the summary line that follows is the record (a log never holds a cut-off bar)."""
    return Progress(TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not console.is_terminal, transient=False)


@app.command(rich_help_panel=AFTER)
@friendly_errors
def predict(
    paths: PathsArgument,
    study: StudyOption = None,
    trial: TrialOption = None,
    storage: StorageOption = None,
    results_dir: ResultsOption = Path("results"),
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV to write.")] = Path("predictions.csv"),
    threshold: Annotated[float | None, typer.Option("--threshold", min=0.0, max=1.0, help="Also label at this threshold.")] = None,
    sensitivity: Annotated[float | None, typer.Option("--sensitivity", min=0.0, max=1.0, help="Also label at the card's operating point for this sensitivity (0.80, 0.90, 0.95).")] = None,
    specificity: Annotated[float | None, typer.Option("--specificity", min=0.0, max=1.0, help="Also label at the card's operating point for this specificity (0.80, 0.90, 0.95).")] = None,
    tta: TtaOption = None,
    artifacts: ArtifactsOption = None,
) -> None:
    """Score images with a found model: a CSV with the probability and the class at the model's threshold and the operating points asked for."""
    from mammosearch.apply import range_check, score_inputs, write_predictions

    bundle, items = load_bundle_and_inputs(paths, study, trial, storage, results_dir, tta, artifacts)
    thresholds = {"threshold": bundle.threshold}
    if threshold is not None:
        thresholds[f"at_{threshold:g}"] = threshold
    if sensitivity is not None:
        thresholds[f"sensitivity_{sensitivity:.2f}"] = bundle.operating_threshold("sensitivity", sensitivity)
    if specificity is not None:
        thresholds[f"specificity_{specificity:.2f}"] = bundle.operating_threshold("specificity", specificity)
    task = bundle.task
    with progress_bar("predict") as bar:
        job = bar.add_task("predict", total=len(items))
        scored = score_inputs(bundle, items, lambda n: bar.advance(job, n))
    checked = range_check(bundle, scored)
    with writing(out):
        written = write_predictions(out, scored, bundle, thresholds, checked)
    failed = [s for s in scored if s.score is None]
    positive = sum(1 for s in scored if s.score is not None and s.score >= bundle.threshold)
    console.print(f"scored {len(scored) - len(failed)} of {len(scored)} image(s) with {escape(bundle.origin)}: "
                  f"{positive} {escape(task.positive)} at threshold {bundle.threshold:.4f}; wrote {escape(str(written))}")
    say_range_check(checked)
    _say_stored_match(scored, bundle)
    exit_on_failures([(s.item.path, s.error or "") for s in failed])


def say_range_check(checked: RangeCheck) -> None:
    """Each input outside the training data (the first few by name), then how many in all."""
    lines = checked.lines()
    for line in lines[:-1]:
        console.print(f"[yellow]outside the training data:[/] {escape(line)}", soft_wrap=True)
    if lines:
        console.print(f"[yellow]warning:[/] {escape(lines[-1])}", soft_wrap=True)


def _say_stored_match(scored: list[Scored], bundle: ModelBundle) -> None:
    from mammosearch.apply import SCORE_TOLERANCE, agreement, scored_by_other_folds, stored_scores

    stored = stored_scores(bundle.stored_predictions, bundle.tta)
    other_folds = scored_by_other_folds(bundle.stored_predictions)
    known = [s for s in scored if s.score is not None and s.item.key in stored]
    found = agreement((s.score, stored[s.item.key]) for s in known if s.item.key not in other_folds and s.score is not None)
    if found is not None:
        console.print(found.summary() + (" (this model's own fold and test images)" if other_folds else ""))
        if not found.all_within:
            # Rounding stays far below the tolerance; a larger gap is another model or other preprocessing.
            console.print(f"[yellow]{found.compared - found.within} image(s) differ by more than {SCORE_TOLERANCE:g}: "
                          "not the model or the preprocessing the study scored them with[/yellow]")
    elsewhere = sum(1 for s in known if s.item.key in other_folds)
    if elsewhere:
        # Under CV the exported model is the first fold's; the other folds' models scored these images.
        console.print(f"{elsewhere} image(s) were validation images of the other cross-validation folds: their stored "
                      "(out-of-fold) scores come from those folds' models, not from this one (the first fold's), so they are "
                      "not compared; the CSV's stored_by column says which", soft_wrap=True)


@app.command(rich_help_panel=AFTER)
@friendly_errors
def evaluate(
    paths: Annotated[list[Path] | None, typer.Argument(metavar="[MODEL]", help="An `export-best` folder; left out when --study is given.", show_default=False)] = None,
    space: Annotated[Path | None, typer.Option("--space", "-s", help="YAML space whose `data` section is the evaluation data (any loader).")] = None,
    data: Annotated[list[str] | None, typer.Option("--data", help="The evaluation data as data keys instead of a space, e.g. --data source=csv --data path=site2.csv (repeatable).")] = None,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space, e.g. --set data.seed=1 (repeatable).")] = None,
    split: Annotated[str, typer.Option("--split", help="Which images of that data: all, train, val or test.")] = "all",
    study: StudyOption = None,
    trial: TrialOption = None,
    storage: StorageOption = None,
    results_dir: ResultsOption = Path("results"),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for metrics.json, predictions.csv, subgroups.csv and the PNGs; default: <results-dir>/evaluate/<model>.")] = None,
    tta: TtaOption = None,
) -> None:
    """External validation: every metric with patient-bootstrap CIs, operating points, calibration, subgroups."""
    from mammosearch.apply.evaluate import evaluate_model, evaluation_space, refuse_other_framing, refuse_shared_patients, write_evaluation
    from mammosearch.data import load_image_set
    from mammosearch.data.checks import per_image_of

    if split not in ("all", "train", "val", "test"):
        raise ApplyError(f"--split {split!r}: use all, train, val or test")
    bundle, rest = load_bundle(paths or [], study, trial, storage, results_dir, tta)
    loaded = evaluation_space(space, data or [], overrides or [], bundle.data_image_size, bundle.framing)
    if rest:
        raise ApplyError(f"unexpected argument(s) {' '.join(str(p) for p in rest)}: evaluate takes one MODEL; name the data with --space or --data")
    refuse_other_framing(bundle, loaded)
    images = load_image_set(loaded.data, loaded.split, cache_dir=results_dir / "cache", checks=loaded.checks)
    if split != "all":
        if not images.has_split(split):
            raise ApplyError(f"the data has no {split} split (it has: {', '.join(sorted(set(images.splits.tolist())))})")
        images = images.subset(split)
    refuse_shared_patients(bundle, images)
    result = evaluate_model(bundle, images, per_image_of(images))
    folder = out or results_dir / "evaluate" / _slug(bundle.origin)
    with writing(folder):
        written = write_evaluation(result, folder)
    _print_evaluation(result.metrics)
    if result.checked is not None:
        say_range_check(result.checked)
    console.print(f"wrote {len(written)} files to {escape(str(folder))}: " + ", ".join(escape(p.name) for p in written))


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text).strip("-")[:60] or "model"


def _print_evaluation(metrics: dict[str, Any]) -> None:
    from rich.table import Table

    from mammosearch.report.terminal import fitting_columns, rates_to_drop

    main = metrics["metrics"]

    def ci(values: list[float] | None) -> str:
        return f" ({values[0]:.3f}-{values[1]:.3f})" if values else ""

    console.print(f"[bold]{escape(metrics['model'])}[/] on {escape(metrics['data'])}: {main['n']} images, {metrics['patients']} patients")
    console.print(f"AUC {main['auc']:.3f}{ci(main['auc_ci95'])}, average precision {main['average_precision']:.3f}, Brier {main['brier']:.3f}")
    # Every rate of the table (spec/rates.py) with its patient-bootstrap interval; on a narrow
    # terminal the rates that are not brief are left to metrics.json, which holds them all.
    titles = ["operating point", "threshold", *(f"{rate.label}\n(95% CI)" for rate in RATES)]
    points = [("model threshold", main["at_youden"], main["at_threshold_ci95"])]
    points += [(name, at, at["ci95"]) for name, at in metrics["operating_points"].items()]
    rows = [[name, f"{at['threshold']:.4f}", *(rate.format(rate.read(at)) + ci(cis.get(rate.key)).replace(" (", "\n(") for rate in RATES)]
            for name, at, cis in points]
    others, _ = rates_to_drop()
    shown, hidden = fitting_columns(console.width, titles, rows, [f"{rate.label}\n(95% CI)" for rate in reversed(others)])
    table = Table(*(titles[i] for i in shown))
    for cells in rows:
        table.add_row(*(cells[i] for i in shown))
    console.print(table)
    if hidden:
        console.print(f"[dim]{', '.join(t.split(chr(10))[0] for t in hidden)} hidden at this terminal width; metrics.json has every rate[/]")
    for row in metrics["subgroups"]:
        auc = "n/a (one class)" if row["auc"] is None else f"{row['auc']:.3f}{ci(row.get('ci95'))}"
        console.print(f"subgroup {escape(row['kind'])} = {escape(str(row['group']))}: AUC {auc}")


@app.command(rich_help_panel=AFTER)
@friendly_errors
def explain(
    paths: PathsArgument,
    study: StudyOption = None,
    trial: TrialOption = None,
    storage: StorageOption = None,
    results_dir: ResultsOption = Path("results"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for overlays/, grid.png and (mini-MIAS files) pointing.json.")] = Path("explained"),
    layer: Annotated[str | None, typer.Option("--layer", help="Target layer; default: the family's (cnn conv3, vgg16 block5_conv3, resnet50 conv5_block3_out).")] = None,
    target: Annotated[str, typer.Option("--target", help="predicted: explain each image's predicted class; positive: always the positive class.")] = "predicted",
    tta: Annotated[str | None, typer.Option(
        "--tta", help="flip: score as the mean with the mirror image and average each map with the mirror image's map mirrored back; "
                      "none: the plain model. Default: as exported.", show_default=False)] = None,
) -> None:
    """Grad-CAM heat maps over the images (PNG per image and a grid); on mini-MIAS files, the pointing check."""
    from mammosearch.apply.explain import explain_inputs

    bundle, items = load_bundle_and_inputs(paths, study, trial, storage, results_dir, tta)
    with progress_bar("explain") as bar:
        job = bar.add_task("explain", total=len(items))
        with writing(out):
            result = explain_inputs(bundle, items, out, layer, target, lambda n: bar.advance(job, n))
    sizes = ", ".join(sorted({f"{h}x{w}" for h, w in result.map_sizes}))
    console.print(f"Grad-CAM at {escape(', '.join(sorted(set(result.layers))))} ({sizes}): {len(result.overlays)} overlay(s) in "
                  f"{escape(str(out / 'overlays'))}; grid {escape(str(result.grid))}")
    coarsest = min(result.map_sizes)
    if min(coarsest) < 3:
        earlier = (f"try --layer {result.finer[0]} (its map is {result.finer[1]} px a side)" if result.finer is not None
                   else "no layer of this model has a finer map at this input size: train at a larger input size")
        console.print(f"[yellow]warning:[/] the target layer is {coarsest[0]}x{coarsest[1]} at this input size, so the maps can hardly say "
                      f"where; {escape(earlier)}")
    if result.checked is not None:
        say_range_check(result.checked)
    if result.pointing is not None:
        p = result.pointing
        console.print(f"pointing check: the peak falls inside the lesion circle on {p['hits']} of {p['images']} abnormal images "
                      f"({p['share']:.1%}); a random peak on the breast: {p['random_peak_share']:.1%}. Saved {escape(str(result.pointing_file))}")
        if result.pointing_outside:
            console.print(f"[yellow]warning:[/] {result.pointing_outside} of those {p['images']} images are outside the training data "
                          "(see above): the pointing check says little about this model there")
    exit_on_failures(result.failures)
