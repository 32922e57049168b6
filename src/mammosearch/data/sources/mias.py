"""mini-MIAS: lesion ROI crops (benign vs malignant) or whole images (normal vs abnormal).

``Info.txt`` holds one row per abnormality: ``REFNUM BG CLASS [SEVERITY [X Y RADIUS]]``.
Facts that shape this loader (see the data set's README notes):

* Y is measured from the *bottom* of the image: row = height - 1 - Y.
* Some lesions have no coordinates (mdb059; the ``*NOTE 3*`` calcification rows):
  ``missing_coordinates: skip`` drops them and says how many, ``center`` takes a centred crop.
* One image can hold several lesions: each gives its own crop with its own label.
* Images 2k-1 and 2k are the two breasts of one woman: they share a patient id, so the
  split never puts one woman's left and right breast on both sides.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mammosearch.data import _spec_fields as sf
from mammosearch.data._provenance import provenance_of
from mammosearch.data._spec_fields import key, read_spec, spec_keys
from mammosearch.data.base import Loaded, Source
from mammosearch.data.decode import DEFAULT_MARGIN, Framing, decode_all, framed_and_fitted, framing_for, refuse_on_crops, resized_to
from mammosearch.data.file_names import undecodable
from mammosearch.data.pixels import Decoded
from mammosearch.data.task import Task
from mammosearch.errors import DataError
from mammosearch.spec import Fields, ImageSize

ROW = re.compile(r"^mdb\d{3}\s")
BACKGROUNDS = {"F", "G", "D"}
CLASSES = {"CALC", "CIRC", "SPIC", "MISC", "ARCH", "ASYM", "NORM"}


@dataclass(frozen=True)
class MiasSpec:
    """mini-MIAS (``Info.txt`` + ``mdbNNN.pgm|png``): lesion crops, or whole images."""

    root: Path | None = key(None, sf.optional_path())  # None: the folder `mammosearch data fetch mini-mias` fills
    image_size: int | str = key(64, sf.size(16, 1024))  # a square side or "HxW" (spec.size)
    task: Literal["benign_vs_malignant", "normal_vs_abnormal"] = key("benign_vs_malignant", sf.choice("benign_vs_malignant", "normal_vs_abnormal"))
    margin: float = key(1.5, sf.number(0.5, 10.0))  # crop side = max(min_crop, 2 * radius * margin)
    min_crop: int = key(64, sf.integer(8, 1024))
    missing_coordinates: Literal["skip", "center"] = key("skip", sf.choice("skip", "center"))
    center_crop: int = key(512, sf.integer(16, 1024))  # crop side for lesions without coordinates when "center"
    # Whole images only (null: on for normal_vs_abnormal): crop to the breast, chest wall to the left (data/decode/_framing.py).
    crop: bool | None = key(None, sf.optional_boolean())
    orient: bool | None = key(None, sf.optional_boolean())
    crop_margin: float = key(DEFAULT_MARGIN, sf.number(0.0, 0.5))
    source: Literal["mias"] = "mias"


def read(fields: Fields, raw: dict[str, Any]) -> MiasSpec:
    spec = read_spec(MiasSpec, fields, raw)
    refuse_on_crops(fields, spec.crop, spec.orient, spec.task == "normal_vs_abnormal", "lesion crops (task: benign_vs_malignant)")
    return spec


def framing(spec: MiasSpec) -> Framing:
    return framing_for(spec.crop, spec.orient, spec.crop_margin, spec.task == "normal_vs_abnormal")


def files(spec: MiasSpec) -> list[Path]:
    root = spec.root or default_root()
    # Only what can be stat'ed and named (for the cache key): a link to a missing file is
    # reported by the decoder when the image is read, not by a traceback here.
    return [p for folder in (root, root / "images") if folder.is_dir() for p in folder.iterdir()
            if p.suffix.lower() in (".pgm", ".png", ".txt") and p.is_file() and not undecodable(p)]


def describe(spec: MiasSpec, data: Loaded) -> str:
    n_positive = int(data.labels.sum())
    n = len(data.images)
    what = (
        f"{n} lesion crops ({n - n_positive} benign, {n_positive} malignant)"
        if spec.task == "benign_vs_malignant"
        else f"{n} whole images ({n - n_positive} normal, {n_positive} abnormal)"
    )
    return f"mini-MIAS {spec.root or default_root()}: {what}, {len(np.unique(data.patient_ids))} women, {data.images.shape[1]} px"


@dataclass(frozen=True)
class MiasRow:
    line: int
    refnum: str
    abnormality: str
    severity: str | None  # "B", "M" or None for NORM
    x: int | None
    y: int | None
    radius: int | None

    @property
    def number(self) -> int:
        return int(self.refnum[3:])

    @property
    def has_coordinates(self) -> bool:
        return self.x is not None


def default_root() -> Path:
    """Where `mammosearch data fetch mini-mias` unpacks to and the loader looks by default."""
    base = os.environ.get("MAMMOSEARCH_DATA")
    return (Path(base) if base else Path.home() / ".cache" / "mammosearch") / "mini-mias"


def where_to_put_it(spec_root: Path | None) -> str:
    """How a user points the loader at mini-MIAS, naming what it read: data.root, or MAMMOSEARCH_DATA."""
    fetch = "or run `mammosearch data fetch mini-mias`"
    if spec_root is not None:
        return f"from data.root; fix data.root, {fetch}"
    base = os.environ.get("MAMMOSEARCH_DATA")
    if base:
        return (f"from MAMMOSEARCH_DATA={base}: the loader looks in $MAMMOSEARCH_DATA/mini-mias; point "
                f"MAMMOSEARCH_DATA at the folder that holds mini-mias/, set data.root, {fetch}")
    return (f"MAMMOSEARCH_DATA is not set, so the loader looks in ~/.cache/mammosearch/mini-mias; "
            f"export MAMMOSEARCH_DATA=<the folder that holds mini-mias/>, set data.root, {fetch}")


def woman_id(number: int) -> str:
    """mdb001 and mdb002 are one woman's two breasts: both map to mias-woman-001."""
    return f"mias-woman-{(number + 1) // 2:03d}"


def parse_info(path: Path) -> list[MiasRow]:
    """The label table of ``Info.txt`` (README prose above it is skipped)."""
    if not path.is_file():
        raise DataError(f"mini-MIAS labels not found: {path} (expected Info.txt in the data root; set data.root or run `mammosearch data fetch mini-mias`)")
    rows = []
    for number, text in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        if not ROW.match(text):
            continue
        rows.append(_parse_row(path, number, text))
    if not rows:
        raise DataError(f"{path}: no label rows (lines starting 'mdbNNN ') found")
    return rows


def _parse_row(path: Path, line: int, text: str) -> MiasRow:
    fields = text.split()
    where = f"{path}:{line}"

    def bad(why: str) -> DataError:
        return DataError(f"{where}: malformed label row {text.strip()!r}: {why}")

    if len(fields) < 3:
        raise bad("expected REFNUM BG CLASS [SEVERITY [X Y RADIUS]]")
    refnum, background, abnormality = fields[0], fields[1], fields[2]
    if background not in BACKGROUNDS:
        raise bad(f"background {background!r} is not one of F, G, D")
    if abnormality not in CLASSES:
        raise bad(f"class {abnormality!r} is not one of {', '.join(sorted(CLASSES))}")
    if abnormality == "NORM":
        return MiasRow(line, refnum, abnormality, None, None, None, None)
    if len(fields) < 4 or fields[3] not in ("B", "M"):
        raise bad("an abnormality needs severity B or M")
    severity = fields[3]
    coords = fields[4:7]
    if len(coords) == 3 and all(c.lstrip("-").isdigit() for c in coords):
        x, y, radius = (int(c) for c in coords)
        return MiasRow(line, refnum, abnormality, severity, x, y, radius)
    if len(fields) == 4 or fields[4].startswith("*"):
        return MiasRow(line, refnum, abnormality, severity, None, None, None)  # e.g. "*NOTE 3*"
    raise bad("X Y RADIUS must be three integers")


def image_path(root: Path, row: MiasRow) -> Path:
    """``mdbNNN.pgm`` (the original archive) or ``.png`` (re-encoded copies), in the root or ``images/``."""
    refnum = row.refnum
    for folder in (root, root / "images"):
        for suffix in (".pgm", ".png", ".PGM", ".PNG"):
            candidate = folder / f"{refnum}{suffix}"
            if candidate.is_file():
                return candidate
    raise DataError(
        f"{root / 'Info.txt'}:{row.line}: image {refnum} is named here but neither {refnum}.pgm nor "
        f"{refnum}.png is in {root} or {root / 'images'}; restore the file or fetch the data again"
    )


def crop_lesion(image: np.ndarray, row: MiasRow, spec: MiasSpec) -> np.ndarray:
    """A square crop centred on the lesion, zero-padded past the film edge (the background is black)."""
    height, width = image.shape[:2]
    if row.has_coordinates:
        centre_row, centre_col = height - 1 - int(row.y), int(row.x)  # type: ignore[arg-type]
        side = max(spec.min_crop, int(round(2 * int(row.radius) * spec.margin)))  # type: ignore[arg-type]
    else:
        centre_row, centre_col, side = height // 2, width // 2, spec.center_crop
    half = side // 2
    top, left = centre_row - half, centre_col - half
    padded = np.pad(image, ((side, side), (side, side), (0, 0)), mode="constant")
    return padded[top + side: top + side + side, left + side: left + side + side]


def load_mias(spec: MiasSpec) -> Loaded:
    root = spec.root or default_root()
    if not root.is_dir():
        raise DataError(f"mini-MIAS folder not found: {root} ({where_to_put_it(spec.root)})")
    if not (root / "Info.txt").is_file():
        raise DataError(f"mini-MIAS labels not found: {root / 'Info.txt'} (a mini-MIAS folder holds Info.txt and the images; {where_to_put_it(spec.root)})")
    rows = parse_info(root / "Info.txt")
    first_row: dict[str, MiasRow] = {}
    for row in rows:
        first_row.setdefault(row.refnum, row)
    # Every file once (an image can hold several lesions), on every core, at full size: crops need it.
    wanted = [r for r in first_row.values() if spec.task == "normal_vs_abnormal" or r.abnormality != "NORM"]
    paths = [image_path(root, r) for r in wanted]

    def named(index: int, exc: Exception) -> Exception:
        return DataError(f"{root / 'Info.txt'}:{wanted[index].line}: {exc}") if isinstance(exc, DataError) else exc

    decoded = dict(zip((r.refnum for r in wanted), decode_all(paths, "grayscale", on_error=named)))

    def decoded_of(refnum: str) -> Decoded:
        return decoded[refnum]

    def image_of(refnum: str) -> np.ndarray:
        return decoded_of(refnum).pixels

    images, labels, patients, notes = [], [], [], []
    sources: list[str] = []
    origins: list[Decoded] = []
    if spec.task == "normal_vs_abnormal":
        abnormal: dict[str, bool] = {}
        for row in rows:
            abnormal[row.refnum] = abnormal.get(row.refnum, False) or row.abnormality != "NORM"
        whole = framing(spec)
        for refnum, is_abnormal in sorted(abnormal.items()):
            fitted = framed_and_fitted(decoded_of(refnum), whole, ImageSize.of(spec.image_size).shape)
            images.append(fitted.pixels)
            labels.append(int(is_abnormal))
            patients.append(woman_id(int(refnum[3:])))
            sources.append(str(image_path(root, first_row[refnum])))
            origins.append(fitted)
    else:
        skipped = [r.refnum for r in rows if r.abnormality != "NORM" and not r.has_coordinates]
        lesions_seen: dict[str, int] = {}
        for row in rows:
            if row.abnormality == "NORM":
                continue
            if not row.has_coordinates and spec.missing_coordinates == "skip":
                continue
            images.append(resized_to(crop_lesion(image_of(row.refnum), row, spec), spec.image_size))
            labels.append(1 if row.severity == "M" else 0)
            patients.append(woman_id(row.number))
            lesions_seen[row.refnum] = lesions_seen.get(row.refnum, 0) + 1
            # One file can hold several lesions: each crop is named by its lesion (Info.txt row order).
            sources.append(f"{image_path(root, row)}#lesion{lesions_seen[row.refnum]}")
            origins.append(decoded_of(row.refnum))
        if skipped:
            verb = "skipped" if spec.missing_coordinates == "skip" else "centre-cropped"
            notes.append(f"{verb} {len(skipped)} lesion(s) without coordinates: {', '.join(skipped)}")
    if not images:
        raise DataError(f"{root}: no images for task {spec.task}")
    return Loaded(np.stack(images), np.asarray(labels, dtype=np.int8), np.asarray(patients), provenance_of(sources, origins), tuple(notes))


def task(spec: MiasSpec) -> Task:
    if spec.task == "normal_vs_abnormal":
        return Task("normal_vs_abnormal", "normal", "abnormal", "whole mammogram")
    return Task("benign_vs_malignant", "benign", "malignant", "lesion crop")


SOURCE = Source(
    task=task, framing=framing,
    name="mias", keys=spec_keys(MiasSpec),
    read=read, load=load_mias, describe=describe, files=files,
)
