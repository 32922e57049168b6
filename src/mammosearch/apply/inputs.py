"""What ``predict``/``explain`` were given -> the image files to score: files, folders, CSV manifests.

A folder is searched recursively for every format the loaders read (DICOM files without a
suffix included). A link named like an image that leads nowhere (an annexed file not
fetched) is an input too: it is listed as failed with that reason, and the others go on. A manifest is a CSV with a ``path`` column (relative to the CSV), and
optionally ``label``, ``patient_id`` and ``source`` (the id the study's predictions used,
which lets ``predict`` line its scores up with the stored ones).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from mammosearch.data import link_problem, resolved, shown
from mammosearch.data.decode import is_dicom, is_image_file
from mammosearch.errors import ApplyError

LABEL_WORDS = {"0": 0, "1": 1, "benign": 0, "malignant": 1, "normal": 0, "abnormal": 1}


@dataclass(frozen=True)
class InputItem:
    path: Path
    key: str  # the source id the study stored, or the path
    label: int | None = None
    patient_id: str | None = None


def gather_inputs(inputs: list[Path], class_names: tuple[str, str] = ("benign", "malignant")) -> list[InputItem]:
    items: list[InputItem] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            known = _exported_sources(path)
            items.extend(InputItem(p, known.get(resolved(p), str(p))) for p in _images_under(path))
        elif path.suffix.lower() == ".csv" and path.is_file():
            items.extend(read_manifest(path, class_names))
        elif path.is_file() or link_problem(path) is not None:
            items.append(InputItem(path, str(path)))  # an unreadable one is reported by the decoder
        else:
            raise ApplyError(f"input {shown(path)} not found; give image files, folders or a CSV manifest with a path column")
    if not items:
        raise ApplyError(f"no image files in {', '.join(shown(p) for p in inputs)} (read: PNG, JPEG, PGM, TIFF, DICOM)")
    return items


def _images_under(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.is_file():
            if is_image_file(path) or (path.suffix == "" and is_dicom(path)):
                found.append(path)
        elif is_image_file(path) and link_problem(path) is not None:
            found.append(path)
    return found


def _exported_sources(folder: Path) -> dict[Path, str]:
    """File -> source id, from the ``manifest.csv`` of `data export` in this folder or up to two above it."""
    for candidate in (folder, *list(folder.resolve().parents)[:2]):
        manifest = candidate / "manifest.csv"
        if manifest.is_file():
            try:
                with manifest.open(newline="", encoding="utf-8-sig") as handle:
                    return {resolved(manifest.parent / row["path"]): row["source"] for row in csv.DictReader(handle)
                            if row.get("path") and row.get("source")}
            except (OSError, UnicodeDecodeError, csv.Error, KeyError):
                return {}
    return {}


def read_manifest(path: Path, class_names: tuple[str, str]) -> list[InputItem]:
    words = {**LABEL_WORDS, class_names[0].lower(): 0, class_names[1].lower(): 1}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "path" not in [c.strip() for c in reader.fieldnames or []]:
                raise ApplyError(f"{path}: a manifest needs a `path` column (found: {', '.join(reader.fieldnames or []) or 'none'})")
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ApplyError(f"cannot read manifest {path}: {exc}") from None
    items = []
    for number, row in enumerate(rows, start=2):
        label_text = row.get("label", "")
        label = words.get(label_text.lower()) if label_text else None
        if label_text and label is None:
            raise ApplyError(f"{path}:{number}: unknown label {label_text!r} (accepted: {', '.join(sorted(words))})")
        file = resolved(path.parent / row["path"])
        items.append(InputItem(file, row.get("source") or str(file), label, row.get("patient_id") or None))
    return items
