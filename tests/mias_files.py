"""A small mini-MIAS layout written for tests: Info.txt rows and PGM images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

HEADER = "MIAS README prose\n=====\n"


def _fixture(root: Path, rows: list[str], size: int = 256, dots: dict[str, tuple[int, int]] | None = None, missing: set[str] = frozenset()) -> Path:
    """Info.txt + PGM images; `dots` puts a bright 3x3 spot at (X, Y) measured from the bottom."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Info.txt").write_text(HEADER + "\n".join(rows) + "\n")
    refnums = {r.split()[0] for r in rows}
    for refnum in refnums - set(missing):
        image = np.zeros((size, size), dtype=np.uint8)
        if dots and refnum in dots:
            x, y = dots[refnum]
            row = size - 1 - y
            image[row - 1: row + 2, x - 1: x + 2] = 255
        Image.fromarray(image).save(root / f"{refnum}.pgm")
    return root
