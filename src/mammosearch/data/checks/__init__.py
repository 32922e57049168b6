"""The data checks (the fingerprint): photometry, patients, near-duplicates, acquisition shortcuts, balance and sizes."""

from mammosearch.data.checks._options import KEYS, PATIENTS, PHOTOMETRY, DataChecks
from mammosearch.data.checks._photometry import UNDETERMINED, flip
from mammosearch.data.checks._shortcuts import statistics
from mammosearch.data.checks._summary import cached_fingerprint, compute_fingerprint, per_image_of, summary_of

__all__ = [
    "DataChecks",
    "KEYS",
    "PATIENTS",
    "PHOTOMETRY",
    "UNDETERMINED",
    "cached_fingerprint",
    "compute_fingerprint",
    "flip",
    "per_image_of",
    "statistics",
    "summary_of",
]
