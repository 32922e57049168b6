"""What the user asked the data checks to do (``data.photometry``, ``data.patients``)."""

from __future__ import annotations

from dataclasses import dataclass

PHOTOMETRY = ("auto", "as_is")
PATIENTS = ("optional", "required")
KEYS = ("photometry", "patients")  # keys of the `data:` section every source accepts


@dataclass(frozen=True)
class DataChecks:
    # auto: every image that looks inverted (bright background) is flipped to dark
    # background, bright tissue, and the counts per class and split are reported;
    # as_is: nothing is changed, the same counts are a warning.
    photometry: str = "auto"
    # required: refuse to run when the data names no patient for each image.
    patients: str = "optional"
