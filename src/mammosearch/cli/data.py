"""`mammosearch data`: look at (`inspect`) and fetch the images a search trains on."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mammosearch.cli.app import (
    SETUP,
    ResultsOption,
    app,
    console,
    friendly_errors,
)
from mammosearch.data.fetch import ArchiveLimits  # stdlib only: cheap at start-up

data_app = typer.Typer(no_args_is_help=True, help="Look at and fetch the images a search trains on.")
app.add_typer(data_app, name="data", rich_help_panel=SETUP)


@data_app.command("inspect")
@friendly_errors
def data_inspect(
    space: Annotated[Path | None, typer.Option("--space", "-s", help="YAML search space whose `data` section to load; default: the built-in demo.")] = None,
    results_dir: ResultsOption = Path("results"),
    per_class: Annotated[int, typer.Option("--per-class", min=1, max=32, help="Sample images per class in the PNG grid.")] = 8,
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space, e.g. --set data.photometry=as_is (repeatable).")] = None,
) -> None:
    """Counts per class, patient and split, the leakage check, the data fingerprint, and a PNG of sample images."""
    from mammosearch.config import load_space
    from mammosearch.data import load_image_set
    from mammosearch.data.checks import cached_fingerprint
    from mammosearch.files import write_json
    from mammosearch.report import print_fingerprint, sample_grid, summarize
    from mammosearch.report.terminal import print_data_summary
    from mammosearch.store import owned_study_dir

    loaded = load_space(space, overrides or ())
    images = load_image_set(loaded.data, loaded.split, cache_dir=results_dir / "cache", checks=loaded.checks)
    fingerprint = cached_fingerprint(images, loaded.checks, results_dir / "cache")
    folder = owned_study_dir(results_dir, loaded.study_name, None).data_dir()
    grid = sample_grid(images, folder / "samples.png", per_class=per_class)
    saved = write_json(folder / "fingerprint.json", fingerprint)
    print_data_summary(console, summarize(images), loaded.evaluation.cv_folds)
    print_fingerprint(console, fingerprint)
    console.print(f"sample grid: {escape(str(grid))}\nfingerprint: {escape(str(saved))}")


class Dataset(str, Enum):
    mini_mias = "mini-mias"


@data_app.command("fetch")
@friendly_errors
def data_fetch(
    dataset: Annotated[Dataset, typer.Argument(help="Which public data set.")],
    dest: Annotated[Path | None, typer.Option("--dest", help="Where to unpack; default: where the loader looks ($MAMMOSEARCH_DATA/mini-mias or ~/.cache/mammosearch/mini-mias).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Archive URL (a mirror, or file:// for a local copy).")] = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="Expected checksum of the archive (for --url sources); refused if it differs. Without it, every file is checked against the hashes the package pins.")] = None,
    max_unpacked_mb: Annotated[float, typer.Option("--max-unpacked-mb", help="Refuse an archive that unpacks to more than this (from its headers, before writing).")] = ArchiveLimits.max_unpacked_mb,
    max_ratio: Annotated[float, typer.Option("--max-ratio", help="Refuse an archive that unpacks to more than this many bytes per archive byte (a zip bomb).")] = ArchiveLimits.max_ratio,
) -> None:
    """Download, verify and unpack a public data set where its loader finds it."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from mammosearch.data.fetch import fetch_mini_mias

    limits = ArchiveLimits(max_unpacked_mb=max_unpacked_mb, max_ratio=max_ratio)
    with Progress("[bold]download", BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console) as bar:
        task = bar.add_task("download", total=None)
        fetched = fetch_mini_mias(dest, url, sha256, lambda done, total: bar.update(task, completed=done, total=total), limits)
    checked = f"archive sha256 checked, {fetched.verified} images matched their pinned hashes" if sha256 else f"{fetched.verified} files matched their pinned sha256"
    console.print(f"mini-MIAS is in {escape(str(fetched.folder))} ({checked}); `data: {{source: mias}}` finds it there by default")
    if fetched.left_out:
        shown = ", ".join(fetched.left_out[:5]) + (f" and {len(fetched.left_out) - 5} more" if len(fetched.left_out) > 5 else "")
        console.print(f"left out {len(fetched.left_out)} file(s) no pinned hash vouches for: {escape(shown)}")


@data_app.command("export")
@friendly_errors
def data_export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write <split>/<class>/*.png and manifest.csv into.")],
    space: Annotated[Path | None, typer.Option("--space", "-s", help="YAML search space whose `data` section to load; default: the built-in demo.")] = None,
    results_dir: ResultsOption = Path("results"),
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a key of the space, e.g. --set data.seed=1 (repeatable).")] = None,
) -> None:
    """Write a space's images as the models see them (PNG per image, manifest.csv): for predict, evaluate, explain or another tool."""
    from mammosearch.config import load_space
    from mammosearch.data import export_image_set, load_image_set

    loaded = load_space(space, overrides or ())
    images = load_image_set(loaded.data, loaded.split, cache_dir=results_dir / "cache", checks=loaded.checks)
    try:
        manifest = export_image_set(images, out)
    except OSError as exc:
        from mammosearch.errors import DataError

        raise DataError(f"cannot write the images to {out}: {exc.strerror or exc}") from None
    splits = ", ".join(f"{int((images.splits == s).sum())} {s}" for s in ("train", "val", "test") if images.has_split(s))
    console.print(f"wrote {len(images.images)} images ({splits}) to {escape(str(out))}; manifest {escape(str(manifest))}")
