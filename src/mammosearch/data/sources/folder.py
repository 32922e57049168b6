"""``root/<class>/<image>`` folders: the layout most people already have on disk.

Only the files directly inside each class folder are read (no recursion, so a stray
``masks/`` sub-folder cannot leak ROI masks in as images); files with other extensions
(``.txt``, ``.csv``, ``.DS_Store``) are ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mammosearch.data import _spec_fields as spec_fields
from mammosearch.data._provenance import provenance_of
from mammosearch.data._spec_fields import key, read_spec, spec_keys
from mammosearch.data.base import Loaded, Source
from mammosearch.data.decode import DEFAULT_MARGIN, Framing, decode_stacked, framing_for, is_image_file
from mammosearch.data.dicom import patients_from_files
from mammosearch.data.file_names import refuse_unusable, resolved
from mammosearch.data.pixels import ColorMode
from mammosearch.data.task import Task
from mammosearch.errors import DataError
from mammosearch.spec import Fields, show


def _classes(fields: Fields, classes: Any, where: str) -> tuple[str, str]:
    if not (isinstance(classes, list) and len(classes) == 2 and all(isinstance(c, str) and c for c in classes)) or classes[0] == classes[1]:
        raise fields.fail(where, f"expected two different folder names [benign, malignant], got {show(classes)}")
    return (classes[0], classes[1])


@dataclass(frozen=True)
class FolderSpec:
    """``root/<class>/*.png|jpg|pgm|tif``; class names map to benign (0) and malignant (1)."""

    root: Path = key(read=spec_fields.path())
    image_size: int | str = key(64, spec_fields.size(16, 2048))  # a square side or "HxW" (spec.size)
    classes: tuple[str, str] = key(("benign", "malignant"), _classes)
    color: ColorMode = key("grayscale", spec_fields.choice("grayscale", "rgb"))
    patient_regex: str | None = key(None, spec_fields.regex())  # first group (or whole match) is the patient id
    # Off unless asked (the files may be lesion crops): crop to the breast, chest wall to the left (data/decode/_framing.py).
    crop: bool | None = key(None, spec_fields.optional_boolean())
    orient: bool | None = key(None, spec_fields.optional_boolean())
    crop_margin: float = key(DEFAULT_MARGIN, spec_fields.number(0.0, 0.5))
    source: Literal["folder"] = "folder"


def read(fields: Fields, raw: dict[str, Any]) -> FolderSpec:
    return read_spec(FolderSpec, fields, raw, lambda _: "source 'folder' needs `root`, the folder that holds one sub-folder per class")


def files(spec: FolderSpec) -> list[Path]:
    # Listed (for the cache key) with the loader's own rule, so a link to nothing or a name
    # that is not text is one line here too, not a traceback while the key is made.
    root = Path(spec.root)
    return [p for c in spec.classes if (root / c).is_dir() for p in _named_like_images(root / c)]


def describe(spec: FolderSpec, data: Loaded) -> str:
    n_malignant = int(data.labels.sum())
    return (
        f"folder {spec.root}: {len(data.images)} images ({len(data.images) - n_malignant} "
        f"{spec.classes[0]}, {n_malignant} {spec.classes[1]}), {len(np.unique(data.patient_ids))} "
        f"patients, {data.images.shape[1]} px {spec.color}"
    )


def load_folder(spec: FolderSpec) -> Loaded:
    """Read every image of ``spec.classes[0]`` (label 0, benign) and ``[1]`` (label 1).

    Images are ``uint8`` ``(N, S, S, C)`` with S = ``spec.image_size``, ``int8`` labels,
    ``str`` patient ids, and notes on what was skipped or suspicious (links leaving the
    data root, identical files). Files are read in sorted order per class, so the result
    is the same on every machine.
    """
    root = Path(spec.root)
    class_dirs = _class_dirs(root, spec.classes)
    pattern = _compile_patient_regex(spec.patient_regex)
    real_root = root.resolve()

    # list and name everything first: a bad regex or an empty folder fails in
    # milliseconds, not after decoding hundreds of scans
    files: list[Path] = []
    labels: list[int] = []
    patient_ids: list[str] = []
    escaped: list[str] = []
    for label, (class_name, class_dir) in enumerate(zip(spec.classes, class_dirs)):
        for path in _image_files(class_dir):
            if not resolved(path).is_relative_to(real_root):
                escaped.append(f"{class_name}/{path.name}")  # a link out of the data root
                continue
            files.append(path)
            labels.append(label)
            patient_ids.append(_patient_id(path, class_name, pattern))
    if not files:
        raise DataError(f"data folder {root}: no images left inside it (every file links outside {root})")

    images, decoded = decode_stacked(files, spec.color, spec.image_size, framing=framing(spec))
    notes = []
    if escaped:
        notes.append(f"skipped {len(escaped)} link(s) pointing outside {root}: {', '.join(escaped[:5])}")
    patient_source = "regex"
    if pattern is None:  # no regex: DICOM files may name their patient (PatientID)
        patient_ids, patient_source, patient_notes = patients_from_files(decoded, patient_ids)
        notes.extend(patient_notes)
    notes.extend(_duplicate_notes(files, labels, spec.classes))
    provenance = provenance_of([str(path) for path in files], decoded)
    return Loaded(
        images, np.asarray(labels, dtype=np.int8), np.asarray(patient_ids, dtype=str), provenance, tuple(notes), patient_source=patient_source,
    )


def _duplicate_notes(files: list[Path], labels: list[int], classes: tuple[str, str]) -> list[str]:
    """Identical files: in both classes they contradict each other; in one they may leak across splits."""
    by_hash: dict[str, list[int]] = {}
    for index, path in enumerate(files):
        by_hash.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), []).append(index)
    groups = [members for members in by_hash.values() if len(members) > 1]
    notes = []
    conflicting = [g for g in groups if len({labels[i] for i in g}) > 1]
    if conflicting:
        shown = "; ".join(" = ".join(f"{classes[labels[i]]}/{files[i].name}" for i in g) for g in conflicting[:3])
        notes.append(f"{len(conflicting)} identical image(s) appear under both classes: {shown}")
    same_class = [g for g in groups if len({labels[i] for i in g}) == 1]
    if same_class:
        shown = "; ".join(" = ".join(files[i].name for i in g) for g in same_class[:3])
        notes.append(f"{len(same_class)} group(s) of identical images within a class (they can land in different splits): {shown}")
    return notes


def _class_dirs(root: Path, classes: tuple[str, str]) -> list[Path]:
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise DataError(
            f"data folder {root} {what}; set data.root to a folder holding one sub-folder "
            f"per class ({classes[0]}/, {classes[1]}/)"
        )
    if len(classes) != 2 or classes[0] == classes[1]:
        raise DataError(f"data.classes must name two different folders, got {list(classes)}")
    found = sorted(entry.name for entry in root.iterdir() if entry.is_dir())
    dirs = []
    for name in classes:
        class_dir = root / name
        if not class_dir.is_dir():
            listing = ", ".join(found) if found else "none"
            raise DataError(
                f"class folder {class_dir} not found (folders in {root}: {listing}); "
                f"create it or set data.classes to the benign and malignant folder names"
            )
        dirs.append(class_dir)
    return dirs


def _named_like_images(class_dir: Path) -> list[Path]:
    """Every entry named like an image, sorted; a broken link or a non-UTF-8 name is refused naming it.

    A link to nothing is an image the data set lacks (an annexed file not fetched), so it is
    refused rather than skipped: training on the fetched part alone would go unnoticed.
    """
    found = sorted(p for p in class_dir.iterdir() if is_image_file(p) and (p.is_file() or p.is_symlink()))
    for path in found:
        refuse_unusable(path)
    return found


def _image_files(class_dir: Path) -> list[Path]:
    files = _named_like_images(class_dir)
    if not files:
        subdirs = sorted(p.name for p in class_dir.iterdir() if p.is_dir())
        hint = f" (sub-folders are not searched: {', '.join(subdirs)})" if subdirs else ""
        raise DataError(
            f"class folder {class_dir} has no images{hint}; put .png, .jpg, .jpeg, .pgm, "
            f".tif, .tiff or .dcm files directly in it"
        )
    return files


def _compile_patient_regex(regex: str | None) -> re.Pattern[str] | None:
    if regex is None:
        return None
    try:
        return re.compile(regex)
    except re.error as exc:
        raise DataError(
            f"data.patient_regex '{regex}' is not a valid regular expression: {exc}"
        ) from exc


def _patient_id(path: Path, class_name: str, pattern: re.Pattern[str] | None) -> str:
    """Without a regex every file is its own patient: safe only when that is true, which is
    why the regex exists (two views of one woman must never straddle a split)."""
    if pattern is None:
        return f"{class_name}/{path.name}"
    match = pattern.search(path.name)
    patient = None
    if match is not None:
        patient = match.group(1) if pattern.groups else match.group(0)
    if not patient:
        raise DataError(
            f"file name {path.name!r} ({path}) does not match data.patient_regex "
            f"'{pattern.pattern}'; fix the regex or rename the file"
        )
    return patient


def framing(spec: FolderSpec) -> Framing:
    return framing_for(spec.crop, spec.orient, spec.crop_margin, whole_images=False)


def task(spec: FolderSpec) -> Task:
    """The class folders' own names: ``classes: [normal, cancer]`` is what the model tells apart."""
    return Task(f"{spec.classes[0]}_vs_{spec.classes[1]}", spec.classes[0], spec.classes[1], "image")


SOURCE = Source(
    task=task, framing=framing,
    name="folder", keys=spec_keys(FolderSpec),
    read=read, load=load_folder, describe=describe, files=files,
)
