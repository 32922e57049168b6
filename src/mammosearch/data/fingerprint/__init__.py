"""The data fingerprint: photometry, patients, near-duplicates, acquisition shortcuts, balance and sizes."""

from mammosearch.data.fingerprint.summary import cached_fingerprint, compute_fingerprint, per_image_of, summary_of

__all__ = ["cached_fingerprint", "compute_fingerprint", "per_image_of", "summary_of"]
