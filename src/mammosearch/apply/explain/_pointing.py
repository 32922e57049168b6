"""The pointing check on mini-MIAS: does the heat map's peak fall inside the radiologist's circle?

``Info.txt`` gives each abnormality's centre (x from the left, y from the *bottom*) and a
radius enclosing it. An image counts as a hit when the peak of its map, taken at the file's
own resolution, lies inside any of its circles. The chance level is what a peak placed at
random on the breast would score: the share of breast pixels (brighter than the film
background) inside the circles, averaged over the same images.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.apply.explain._gradcam import peak_of
from mammosearch.data import MiasRow, parse_info
from mammosearch.errors import DataError

_MIAS_NAME = re.compile(r"^(mdb\d{3})$")
BREAST_LEVEL = 20  # 8-bit grey level above which a pixel is tissue, not film background


@dataclass(frozen=True)
class Circle:
    row: float
    col: float
    radius: float


class MiasCircles:
    """Lesion circles of mini-MIAS files, found from each file's own folder (or its parent's) Info.txt."""

    def __init__(self) -> None:
        self._tables: dict[Path, list[MiasRow] | None] = {}

    def of(self, path: Path, height: int) -> list[Circle] | None:
        """None: not a mini-MIAS file; []: one without a located abnormality (normal, or no coordinates)."""
        match = _MIAS_NAME.match(path.stem)
        if match is None:
            return None
        for folder in (path.parent, path.parent.parent):
            rows = self._table(folder / "Info.txt")
            if rows is not None:
                return [Circle(height - 1 - float(r.y or 0), float(r.x or 0), float(r.radius or 0))
                        for r in rows if r.refnum == match.group(1) and r.has_coordinates]
        return None

    def _table(self, info: Path) -> list[MiasRow] | None:
        if info not in self._tables:
            try:
                self._tables[info] = parse_info(info) if info.is_file() else None
            except DataError:
                self._tables[info] = None
        return self._tables[info]


def _inside(circles: list[Circle], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    hit = np.zeros(np.broadcast(rows, cols).shape, dtype=bool)
    for c in circles:
        hit |= (rows - c.row) ** 2 + (cols - c.col) ** 2 <= c.radius**2
    return hit


def point(cam_original: np.ndarray, original: np.ndarray, circles: list[Circle]) -> dict[str, Any]:
    """One image: its peak, whether it is in a circle, and the chance a random breast pixel is."""
    row, col = peak_of(cam_original)
    breast = original.max(axis=-1) > BREAST_LEVEL
    rows, cols = np.nonzero(breast)
    chance = float(_inside(circles, rows, cols).mean()) if len(rows) else 0.0
    return {"peak": [row, col], "hit": bool(_inside(circles, np.asarray(row), np.asarray(col))), "chance": chance}


def summarise(points: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not points:
        return None
    hits = [p["hit"] for p in points]
    return {
        "images": len(points),
        "hits": int(sum(hits)),
        "share": float(np.mean(hits)),
        "random_peak_share": float(np.mean([p["chance"] for p in points])),
        "definition": "peak of the map inside an Info.txt circle; random: a peak placed uniformly on the breast (grey level > 20)",
    }
