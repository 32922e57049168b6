"""Which overlays ``explain``'s grid shows: a seeded sample of every class, not the first files by name.

Files sorted by name often sort by class (``benign/`` before ``malignant/``, a CSV's order),
so the first 24 showed one class only. Each class (the true one where the inputs carry
labels, else the predicted one) keeps a reservoir sample (Algorithm R) of its overlays,
seeded, so the grid is the same on every run, and memory stays bounded on any folder size.
The classes share the grid equally; a class with too few images leaves its places to the other.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import numpy as np

GRID_IMAGES = 24
CAPTION_WIDTH = 16  # characters per caption line: the whole name, wrapped, never cut


@dataclass
class GridSample:
    capacity: int = GRID_IMAGES
    seed: int = 0
    _kept: dict[str, list[tuple[int, np.ndarray, str]]] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)
    _rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def offer(self, group: str, position: int, picture: np.ndarray, caption: str) -> None:
        """One overlay of ``group``; ``position`` (its place in the inputs) orders the grid."""
        seen = self._seen.get(group, 0) + 1
        self._seen[group] = seen
        kept = self._kept.setdefault(group, [])
        if len(kept) < self.capacity:  # every class keeps enough to fill the whole grid alone
            kept.append((position, picture, caption))
            return
        slot = int(self._rng.integers(0, seen))
        if slot < self.capacity:
            kept[slot] = (position, picture, caption)

    def rows(self, columns: int) -> list[tuple[str, list[np.ndarray], list[str]]]:
        """(label, pictures, captions) rows: each class's share, in input order, ``columns`` a row."""
        groups = sorted(self._kept)
        shares = {g: 0 for g in groups}
        left = self.capacity
        while left > 0 and any(shares[g] < len(self._kept[g]) for g in groups):  # equal shares, spares to the others
            for g in groups:
                if left > 0 and shares[g] < len(self._kept[g]):
                    shares[g] += 1
                    left -= 1
        rows = []
        for g in groups:
            kept = self._kept[g]
            chosen = sorted(kept if shares[g] == len(kept) else self._pick(kept, shares[g]), key=lambda item: item[0])
            for start in range(0, len(chosen), columns):
                part = chosen[start : start + columns]
                rows.append((f"{g} ({self._seen[g]})" if start == 0 else "", [p for _, p, _ in part], [c for _, _, c in part]))
        return rows

    def _pick(self, kept: list[tuple[int, np.ndarray, str]], count: int) -> list[tuple[int, np.ndarray, str]]:
        order = self._rng.permutation(len(kept))[:count]
        return [kept[int(i)] for i in order]


def caption(name: str, score: float) -> str:
    """A file's whole name wrapped to short lines, then its score: long names are split, never cut."""
    return "\n".join(textwrap.wrap(name, CAPTION_WIDTH, break_long_words=True, break_on_hyphens=False) or [""]) + f"\np={score:.2f}"
