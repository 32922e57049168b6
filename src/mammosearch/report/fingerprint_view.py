"""Printing the data fingerprint: a short table per check, then its warnings."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

PATIENT_SOURCES = {
    "regex": "data.patient_regex",
    "column": "the manifest's patient_id column",
    "dicom": "the DICOM PatientID tag",
    "file": "nowhere (none given: each file counts as its own patient)",
    "source": "the data set itself",
}


def _ci(score: dict[str, Any] | None) -> str:
    if not score:
        return "-"
    ci = score.get("ci95")
    return f"{score['auc']:.3f}" + ("" if not ci else f" ({ci[0]:.3f}-{ci[1]:.3f})")


def print_fingerprint(console: Console, fingerprint: dict[str, Any]) -> None:
    photo = fingerprint["photometry"]
    table = Table(title="Look inverted / images", header_style="bold")
    for title in ("split", "benign", "malignant"):
        table.add_column(title, justify="left" if title == "split" else "right")
    for row in photo["table"]:
        table.add_row(str(row["split"]), f"{row['benign_inverted']} / {row['benign_images']}", f"{row['malignant_inverted']} / {row['malignant_images']}")
    console.print(table)
    console.print(
        f"photometry (data.photometry: {photo['policy']}): {photo['looks_inverted']} look inverted (bright background), {photo['flipped']} flipped, {photo['tag_inverted']} MONOCHROME1 "
        f"inverted by their DICOM tag, {photo['undetermined']} undetermined (no background to judge by)"
    )
    who = fingerprint["patients"]
    console.print(f"patients: {who['patients']}, ids from {PATIENT_SOURCES.get(who['source'], escape(str(who['source'])))}; {who['both_classes']} with images in both classes")
    near = fingerprint["near_duplicates"]
    console.print(f"near-duplicates across splits (pHash distance <= {near['max_distance']}): {near['pairs']}")
    for pair in near["listed"][:5]:
        console.print(f"  {escape(pair['a'])} ({pair['split_a']}) ~ {escape(pair['b'])} ({pair['split_b']}), distance {pair['distance']}")
    shortcut = fingerprint.get("shortcuts")
    if shortcut is None:
        console.print("shortcut check: not fitted (no statistic varies, or the training split lacks a class)")
    else:
        scores, acquisition = shortcut["scores"], shortcut.get("acquisition_scores", {})
        strongest = f"; strongest alone: {shortcut['strongest']} ({shortcut['strongest_auc']:.3f})" if shortcut.get("strongest") else ""
        console.print(
            # Not the study's trivial baseline (tuned, on the study's folds; `report` shows it): a quick
            # untuned fit on the training split, to flag acquisition shortcuts.
            f"shortcut check (untuned logistic regression on {', '.join(shortcut['statistics'])}, fitted on the training split; "
            f"not the trivial baseline `report` compares trials with): "
            f"validation AUC {_ci(scores.get('val'))}, test AUC {_ci(scores.get('test'))}; "
            f"without the histogram (acquisition only): validation {_ci(acquisition.get('val'))}{strongest}"
        )
    sizes = fingerprint["sizes"]
    bits = ", ".join(f"{count} x {depth}-bit" for depth, count in sizes["bits"].items())
    console.print(
        f"stored sizes: {sizes['stored_min'][0]}x{sizes['stored_min'][1]} to {sizes['stored_max'][0]}x{sizes['stored_max'][1]} "
        f"(median {sizes['stored_median'][0]}x{sizes['stored_median'][1]}), {bits}; {sizes['upscaled']} upscaled to {sizes['image_size']} px"
    )
    for warning in fingerprint.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(warning)}")
