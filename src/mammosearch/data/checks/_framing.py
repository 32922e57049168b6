"""What the crop to the breast and the orientation did, per class and split: images kept whole, chest-wall sides.

Read from the provenance (``crop``, ``chest_wall``, ``chest_wall_from``, recorded by
``data/decode/_framing.py`` per image), so it costs nothing; empty when neither was asked.
A side that differs by class is a shortcut a model can learn, like inverted photometry:
under ``data.orient`` every image was turned to one side anyway, without it the images
are as stored and it is a warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.data.base import Provenance

UNEVEN = 0.05  # share of right-sided images, benign vs malignant: above this gap, a warning
LISTED = 5


def framing_summary(prov: Provenance, labels: np.ndarray, splits: np.ndarray, orient: bool) -> dict[str, Any] | None:
    """Counts of cropped / kept-whole images and of chest-wall sides, per split and class; None when nothing was asked."""
    if not (prov.crop != "").any() and not (prov.chest_wall_from != "").any():
        return None
    whole = prov.crop == "none_found"
    table = []
    for split in ("train", "val", "test", "all"):
        mask = np.ones(len(labels), bool) if split == "all" else splits == split
        if not mask.any():
            continue
        row: dict[str, Any] = {"split": split}
        for label, name in ((0, "benign"), (1, "malignant")):
            members = mask & (labels == label)
            row[f"{name}_images"] = int(members.sum())
            row[f"{name}_right"] = int((members & (prov.chest_wall == "right")).sum())
            row[f"{name}_left"] = int((members & (prov.chest_wall == "left")).sum())
            row[f"{name}_kept_whole"] = int((members & whole).sum())
        table.append(row)
    return {
        "cropped": int((prov.crop == "breast").sum()),
        "kept_whole": int(whole.sum()),
        "kept_whole_listed": [str(s) for s in prov.sources[whole][:LISTED]],
        "chest_wall": {side: int((prov.chest_wall == side).sum()) for side in ("left", "right")},
        "undetermined_side": int(((prov.chest_wall == "") & ((prov.crop != "") | (prov.chest_wall_from != "") | orient)).sum()),
        "side_from": {who: int((prov.chest_wall_from == who).sum()) for who in ("dicom", "image")},
        "turned": int((prov.chest_wall == "right").sum()) if orient else 0,
        "orient": orient,
        "table": table,
    }


def warnings_for(summary: dict[str, Any] | None, labels: np.ndarray, prov: Provenance) -> list[str]:
    if summary is None:
        return []
    notes: list[str] = []
    n = len(labels)
    if summary["kept_whole"]:
        listed = ", ".join(summary["kept_whole_listed"])
        notes.append(f"data.crop: no breast found in {summary['kept_whole']} of {n} images, kept uncropped (e.g. {listed}); "
                     "look at them: blank, a lesion crop, or an unusual exposure?")
    sided = prov.chest_wall != ""
    rates = {}
    for label, name in ((0, "benign"), (1, "malignant")):
        members = sided & (labels == label)
        rates[name] = float((prov.chest_wall[members] == "right").mean()) if members.any() else 0.0
    if sided.any() and abs(rates["benign"] - rates["malignant"]) >= UNEVEN:
        spread = f"{rates['benign']:.0%} of benign, {rates['malignant']:.0%} of malignant"
        action = ("all were turned chest wall left (data.orient), so it cannot be learnt" if summary["orient"]
                  else "left as stored: a model can learn the side instead of the lesion; set data.orient: true")
        notes.append(f"chest wall on the right is unevenly spread over the classes ({spread}); {action}")
    return notes
