"""Large arrays on disk: the decoded-image cache, arrays read a chunk at a time, and the sweep of files a killed process left half-written."""

from mammosearch.data.arrays._cache import cached, fingerprint, images_array, images_written_to
from mammosearch.data.arrays._fill_lock import filling
from mammosearch.data.arrays._paged import (
    chunks,
    computed_into,
    in_memory_bytes,
    is_large,
    new_array,
    read_mapped,
    release,
    rows_within,
    stored_or_computed,
    stored_or_made,
)
from mammosearch.data.arrays._partial import filling_path, sweep_stale, this_host

__all__ = [
    "cached",
    "chunks",
    "computed_into",
    "filling_path",
    "filling",
    "fingerprint",
    "images_array",
    "images_written_to",
    "in_memory_bytes",
    "is_large",
    "new_array",
    "read_mapped",
    "release",
    "rows_within",
    "stored_or_computed",
    "stored_or_made",
    "sweep_stale",
    "this_host",
]
