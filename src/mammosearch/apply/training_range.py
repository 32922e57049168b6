"""Is an input the kind of image the model was trained on? Its file facts against the training fingerprint.

A model scores whatever it is given: a lesion-crop model fed whole films, a 16-bit scan
given to a model of 8-bit exports, an inverted film given to a model that never flips,
all get a probability and no word. The study's data fingerprint (``data/checks/``,
stored in the study context and the model card as ``data_fingerprint``) records the
training files' stored size range, bit depths, how many images were cut from larger files,
and how many looked inverted; the decode path learns the same facts about each input
(``data/pixels.py`` ``Decoded``, ``data/base.py`` ``Provenance``). Here they meet.

Sizes are compared with a margin (:data:`SIZE_MARGIN`): scanners and exports of the same
kind of image differ by a few percent, a lesion crop and a whole film by a factor of
three or more. A crop cut by the source (mini-MIAS lesions, ``path#k``) stores the whole
file's size, so for such a model only an input the size of those whole files is flagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mammosearch.data import Decoded, Provenance
from mammosearch.data.checks import UNDETERMINED

SIZE_MARGIN = 1.25  # a side this much beyond the training range counts as outside it
LISTED = 10  # files named one by one; the total counts them all


@dataclass(frozen=True)
class InputFacts:
    """What one input file said about itself."""

    name: str
    height: int
    width: int
    bits: int
    looks_inverted: bool  # bright background before any flip (pixels.photometry_score)
    cut: bool = False  # cut from a larger file by the source (height/width are the file's)

    @classmethod
    def of_decoded(cls, name: str, decoded: Decoded) -> InputFacts:
        return cls(name, decoded.height, decoded.width, int(decoded.bits), bool(decoded.photometry > UNDETERMINED))


def facts_of_provenance(provenance: Provenance) -> list[InputFacts]:
    """One :class:`InputFacts` per image of a loaded data set (``evaluate``)."""
    return [
        InputFacts(str(name), int(h), int(w), int(b), bool(p > UNDETERMINED), "#" in str(name))
        for name, h, w, b, p in zip(provenance.sources, provenance.heights, provenance.widths, provenance.bits, provenance.photometry)
    ]


@dataclass(frozen=True)
class TrainingRange:
    """The training data as its fingerprint summary recorded it."""

    low: tuple[int, int]  # smallest stored height, width
    high: tuple[int, int]  # largest stored height, width
    bits: frozenset[int]
    cut: bool | None  # the images were cut from larger files; None: not recorded (a study before fingerprint v3)
    unit: str  # what one training image is ("lesion crop", "whole mammogram", ...)
    photometry: str  # the policy predict applies: auto flips an input that looks inverted, as_is does not
    looked_inverted: int  # training images that looked inverted

    @classmethod
    def from_card(cls, card: dict[str, Any], photometry: str) -> TrainingRange | None:
        """From a model card (``export-best`` or a study's trial); None when it records no sizes (an older study)."""
        fingerprint = card.get("data_fingerprint") or {}
        sizes = fingerprint.get("sizes") or {}
        try:
            low, high = sizes["stored_min"], sizes["stored_max"]
            bits = frozenset(int(b) for b in sizes.get("bits") or {})
            cut = None if "cut_from_files" not in sizes else int(sizes["cut_from_files"]) > 0
            unit = str((card.get("task") or {}).get("unit") or "training image")
            return cls((int(low[0]), int(low[1])), (int(high[0]), int(high[1])), bits, cut, unit, photometry,
                       int((fingerprint.get("photometry") or {}).get("looks_inverted") or 0))
        except (KeyError, TypeError, ValueError, IndexError):
            return None

    @property
    def sizes(self) -> str:
        if self.low == self.high:
            return f"{self.low[0]}x{self.low[1]} px"
        return f"{self.low[0]}x{self.low[1]} to {self.high[0]}x{self.high[1]} px"

    @property
    def crops(self) -> bool:
        return bool(self.cut) or "crop" in self.unit.lower()

    def summary(self) -> str:
        kind = f"{self.unit}s cut from {self.sizes} files" if self.cut else f"{self.unit}s of {self.sizes}"
        return f"{kind}, {'/'.join(str(b) for b in sorted(self.bits))}-bit"

    def outside(self, facts: InputFacts) -> list[str]:
        """Why ``facts`` fall outside the training data; empty when they do not."""
        return [why for why in (self._size(facts), self._bits(facts), self._photometry(facts)) if why]

    def _size(self, facts: InputFacts) -> str | None:
        size = f"{facts.height}x{facts.width} px"
        whole_file = facts.height * SIZE_MARGIN >= self.low[0] and facts.width * SIZE_MARGIN >= self.low[1]
        if self.cut and not facts.cut:
            # Only the whole files are known, not the crops: an input as large as those files is a whole image.
            return f"{size}: as large as the whole files the training {self.unit}s were cut from; the model saw {self.unit}s" if whole_file else None
        if facts.cut and not self.cut:
            return None if self.crops else f"a crop cut from a {size} file; the model saw whole {self.unit}s"
        if self.cut is None and self.crops:
            return None  # an older study: whether its crops were cut from larger files is not recorded
        if (facts.height * SIZE_MARGIN < self.low[0]) or (facts.width * SIZE_MARGIN < self.low[1]):
            return f"{size}: smaller than any training image ({self.sizes})"
        if (facts.height > self.high[0] * SIZE_MARGIN) or (facts.width > self.high[1] * SIZE_MARGIN):
            extra = f"; the model saw {self.unit}s" if self.crops else ""
            return f"{size}: larger than any training image ({self.sizes}){extra}"
        return None

    def _bits(self, facts: InputFacts) -> str | None:
        if not self.bits or facts.bits in self.bits:
            return None
        return f"{facts.bits}-bit, the training files were {'/'.join(str(b) for b in sorted(self.bits))}-bit"

    def _photometry(self, facts: InputFacts) -> str | None:
        if not facts.looks_inverted or self.photometry == "auto" or self.looked_inverted:
            return None  # auto flips it as training flipped its own; or training held such images too
        return "looks inverted (bright background) and is scored as it is (photometry: as_is); no training image looked inverted"


@dataclass(frozen=True)
class RangeCheck:
    """Each input outside the training data, with its reasons, and how many inputs were looked at."""

    training: TrainingRange | None
    outside: list[tuple[str, list[str]]]
    checked: int

    def lines(self) -> list[str]:
        """What ``predict``, ``evaluate`` and ``explain`` print: a line per file (the first few), then the total."""
        if self.training is None:
            return ["the model's card records no training size range (an older study or export): inputs are not compared with the training data"]
        if not self.outside:
            return []
        named = [f"{name}: {'; '.join(reasons)}" for name, reasons in self.outside[:LISTED]]
        if len(self.outside) > LISTED:
            named.append(f"... and {len(self.outside) - LISTED} more")
        return named + [self.total()]

    def total(self) -> str:
        return (f"{len(self.outside)} of {self.checked} input(s) fall outside the training data ({self.training.summary() if self.training else '?'}): "
                "the model was never shown such images and its scores on them are not supported by its validation")

    def to_json(self) -> dict[str, Any]:
        return {
            "training": None if self.training is None else self.training.summary(),
            "checked": self.checked,
            "outside": len(self.outside),
            "files": [{"file": name, "reasons": reasons} for name, reasons in self.outside],
        }


def check_range(training: TrainingRange | None, facts: Iterable[InputFacts]) -> RangeCheck:
    facts = list(facts)
    if training is None:
        return RangeCheck(None, [], len(facts))
    outside = [(f.name, reasons) for f in facts if (reasons := training.outside(f))]
    return RangeCheck(training, outside, len(facts))


def outside_by_name(check: RangeCheck) -> dict[str, str]:
    """File -> its reasons joined, for a CSV column."""
    return {name: "; ".join(reasons) for name, reasons in check.outside}


def share_outside(check: RangeCheck, names: Sequence[str]) -> int:
    """How many of ``names`` fell outside the training data (e.g. the images a pointing check used)."""
    flagged = {name for name, _ in check.outside}
    return sum(1 for name in names if name in flagged)
