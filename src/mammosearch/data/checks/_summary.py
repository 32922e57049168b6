"""The data fingerprint: computed once per data set, cached, printed, and stored with the study.

Photometry, patients, near-duplicates across splits, acquisition shortcuts, class balance
and sizes, each with its warnings. The per-image part (source, inverted or not, site) lets
`report` break the best trial's AUC down by those subgroups.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.data.base import ImageSet
from mammosearch.data.checks import _duplicates as duplicates
from mammosearch.data.checks import _framing as framing
from mammosearch.data.checks import _patients as patients
from mammosearch.data.checks import _photometry as photometry
from mammosearch.data.checks import _shortcuts as shortcuts
from mammosearch.data.checks._options import DataChecks
from mammosearch.files import write_json

VERSION = 4  # 3: sizes.cut_from_files (predict/evaluate/explain compare inputs with it); 4: framing (crop, chest wall)
MAX_LISTED_PAIRS = 50


def _counts(images: ImageSet) -> list[dict[str, Any]]:
    rows = []
    for split in ("train", "val", "test"):
        mask = images.splits == split
        if mask.any():
            rows.append({
                "split": split, "benign": int((images.labels[mask] == 0).sum()), "malignant": int((images.labels[mask] == 1).sum()),
                "patients": int(len(np.unique(images.patient_ids[mask]))),
            })
    return rows


def _sizes(images: ImageSet) -> tuple[dict[str, Any], list[str]]:
    prov = images.provenance
    size = images.size
    bits = {str(int(b)): int((prov.bits == b).sum()) for b in np.unique(prov.bits)}
    summary = {
        "stored_min": [int(prov.heights.min()), int(prov.widths.min())],
        "stored_median": [int(np.median(prov.heights)), int(np.median(prov.widths))],
        "stored_max": [int(prov.heights.max()), int(prov.widths.max())],
        "image_size": images.image_size,
        "upscaled": int(((prov.heights < size.height) | (prov.widths < size.width)).sum()),  # a side below data.image_size's
        "bits": bits,
        # Images the source cut from a larger file (``path#k``, e.g. mini-MIAS lesion crops): their
        # stored size is the whole file's, so a model of them must not be fed whole files.
        "cut_from_files": int(sum("#" in str(name) for name in prov.sources)),
    }
    notes = []
    if summary["upscaled"]:
        notes.append(f"{summary['upscaled']} image(s) are stored smaller than data.image_size={images.image_size} and were upscaled")
    if len(bits) > 1:
        per_class = "; ".join(
            f"{b}-bit: {int(((prov.bits == int(b)) & (images.labels == 0)).sum())} benign, {int(((prov.bits == int(b)) & (images.labels == 1)).sum())} malignant"
            for b in bits
        )
        example = ", ".join(str(images.sources[np.flatnonzero(prov.bits == int(b))[0]]) for b in bits)
        notes.append(f"mixed bit depths in one data set ({per_class}; e.g. {example}): usually mixed sources or exports")
    return summary, notes


def compute_fingerprint(images: ImageSet, checks: DataChecks) -> dict[str, Any]:
    """The fingerprint of ``images`` (as the model sees them, after any photometry flip) as plain JSON."""
    prov = images.provenance
    photo = photometry.check_photometry(prov.photometry, prov.inverted, checks.photometry)
    who = patients.check_patients(images.patient_ids, images.labels, prov.sources, images.patient_source)
    pairs = duplicates.near_duplicates_across_splits(images.images, prov.sources, images.splits)
    groups = shortcuts.statistics(images.images, photo.looks_inverted, prov.heights, prov.widths, prov.bits)
    shortcut = shortcuts.check_shortcuts(groups, images.labels, images.patient_ids, images.splits)
    sizes, size_notes = _sizes(images)
    framed = framing.framing_summary(prov, images.labels, images.splits, images.framing.orient)
    warnings = (
        photometry.warnings_for(photo, images.labels, images.splits) + framing.warnings_for(framed, images.labels, prov)
        + patients.warnings_for(who, len(images.labels))
        + duplicates.warnings_for(pairs) + shortcuts.warnings_for(shortcut) + size_notes
    )
    return {
        "version": VERSION,
        "description": images.description,
        "images": len(images.labels),
        "counts": _counts(images),
        "photometry": {
            "policy": checks.photometry, "flipped": int(photo.looks_inverted.sum()) if photo.flipped else 0,
            "looks_inverted": int(photo.looks_inverted.sum()), "undetermined": int(photo.undetermined.sum()),
            "tag_inverted": int(photo.tag_inverted.sum()), "table": photometry.table(photo, images.labels, images.splits),
        },
        "patients": {
            "source": who.source, "patients": who.patients, "both_classes": who.both_classes,
            "suggested_regex": who.suggested_regex, "suggestion": who.suggestion,
        },
        "near_duplicates": {"pairs": len(pairs), "max_distance": duplicates.MAX_DISTANCE, "listed": [vars(p) for p in pairs[:MAX_LISTED_PAIRS]]},
        "shortcuts": None if shortcut is None else {
            "statistics": list(shortcut.statistics),
            "scores": {split: {"auc": s.auc, "ci95": None if s.ci95 is None else list(s.ci95)} for split, s in shortcut.scores.items()},
            "acquisition_scores": {split: {"auc": s.auc, "ci95": None if s.ci95 is None else list(s.ci95)} for split, s in shortcut.acquisition.items()},
            "strongest": shortcut.strongest, "strongest_auc": shortcut.strongest_auc, "predicts_label": shortcut.predicts_label,
            "acquisition_predicts_label": shortcut.acquisition_predicts_label,
        },
        "sizes": sizes,
        "framing": framed,
        "warnings": warnings,
        "per_image": per_image_of(images, photo),
    }


def per_image_of(images: ImageSet, photo: photometry.PhotometryCheck | None = None) -> dict[str, list[Any]]:
    """Each image's source, whether it looked inverted, and its site: what subgroup AUCs group by.

    Cheap (from the provenance alone), so ``evaluate`` gets the groups without computing a
    whole fingerprint (hashes and a shortcut fit) of the data it scores.
    """
    prov = images.provenance
    if photo is None:
        photo = photometry.check_photometry(prov.photometry, prov.inverted, "as_is")  # the policy does not change who looks inverted
    return {"sources": prov.sources.tolist(), "looks_inverted": photo.looks_inverted.tolist(), "sites": prov.sites.tolist()}


def summary_of(fingerprint: dict[str, Any]) -> dict[str, Any]:
    """The fingerprint without its per-image lists: what is stored with the study and the model card."""
    return {key: value for key, value in fingerprint.items() if key != "per_image"}


def cached_fingerprint(images: ImageSet, checks: DataChecks, cache_dir: Path | None) -> dict[str, Any]:
    """From ``cache_dir/fingerprints/`` when this data set was fingerprinted with these checks before."""
    if cache_dir is None or not images.data_key:
        return compute_fingerprint(images, checks)
    path = Path(cache_dir) / "fingerprints" / f"{images.data_key}-{checks.photometry}-v{VERSION}.json"
    if path.is_file():
        try:
            stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return stored
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    fingerprint = compute_fingerprint(images, checks)
    try:
        write_json(path, fingerprint)
    except OSError:
        pass  # an unwritable cache costs time, not correctness
    return fingerprint
