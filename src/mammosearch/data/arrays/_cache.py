"""On-disk cache of decoded, cropped and resized image sets.

Decoding a few hundred 1024x1024 scans and cropping them costs seconds to minutes, and
every run of a study (and every `data inspect`) needs the same arrays. The cache key is
a fingerprint of the spec (every preprocessing parameter) and of each source file's
path, size and modification time (``stat``, not a content hash: hashing gigabytes of
DICOM would cost what the cache saves; any write to a file changes its mtime).
Each entry is an ``.npz`` of the small arrays (labels, ids, provenance) beside the images
as their own ``.npy``, which is memory-mapped when read: a large set's pixels are paged in
as they are used, not read whole into memory. Both are written atomically, the images
first, so an ``.npz`` only exists for a complete entry.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.data.arrays._paged import adopt, new_array
from mammosearch.data.arrays._partial import filling_path, sweep_stale
from mammosearch.files import write_atomically

# Typed loosely: numpy's stub reads a `**arrays` mapping as possibly its `allow_pickle` flag.
_savez: Callable[..., None] = np.savez

# bump when the arrays a loader produces change meaning (2: provenance; 3: photometry score; 4: DICOM windowing,
# patient source; 5: JPEG draft decoding; 6: crop and orientation recorded per image; 7: an inverted-looking image padded
# with its own background, black once flipped; rectangles)
FORMAT_VERSION = 7


def fingerprint(spec: Any, files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    spec_fields = {k: str(v) for k, v in dataclasses.asdict(spec).items()}
    digest.update(json.dumps({"version": FORMAT_VERSION, "spec": spec_fields}, sort_keys=True).encode())
    for file in sorted(Path(f) for f in files):
        stat = file.stat()
        digest.update(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


# While the decoded-image cache fills an entry, the loader's images go straight into the
# entry's file (see ``decode_many.decode_stacked``), so a large set is never in memory whole.
_images_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("images_file", default=None)


@contextmanager
def images_written_to(path: Path) -> Iterator[None]:
    token = _images_file.set(path)
    try:
        yield
    finally:
        _images_file.reset(token)


def images_array(shape: tuple[int, ...]) -> np.ndarray:
    """Where a loader puts ``shape`` uint8 images: the cache entry's file being written, or memory.

    The file is handed out once per entry: a second array the same load asks for is in memory.
    """
    path = _images_file.get()
    _images_file.set(None)  # images_written_to restores the outer value on leaving
    return new_array(path, shape, np.uint8)


MAPPED = "images"  # the one array large enough to matter: its own .npy, memory-mapped on reading


def cached(cache_dir: Path | None, key: str, compute: Callable[[], dict[str, np.ndarray]]) -> tuple[dict[str, np.ndarray], bool]:
    """The arrays stored under ``key``, computing and storing them on a miss.

    Returns ``(arrays, hit)``; ``arrays["images"]``, when there is one, is a read-only
    memory map of the stored file (on a miss too, once written, so the computed copy can
    be freed). With ``cache_dir`` None nothing is cached.
    """
    if cache_dir is None:
        return compute(), False
    sweep_stale(Path(cache_dir))  # partial files of fills killed earlier (their process is gone)
    path, mapped = Path(cache_dir) / f"{key}.npz", Path(cache_dir) / f"{key}.{MAPPED}.npy"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            if MAPPED not in arrays and mapped.is_file():
                arrays[MAPPED] = np.load(mapped, mmap_mode="r", allow_pickle=False)
            return arrays, True
        except (OSError, ValueError):
            # A damaged entry (or one whose images file is gone or short) is recomputed, never trusted.
            path.unlink(missing_ok=True)
            mapped.unlink(missing_ok=True)
    filling = filling_path(mapped)
    try:
        with images_written_to(filling):
            arrays = compute()
        rest = {name: value for name, value in arrays.items() if name != MAPPED}
        if MAPPED in arrays:
            written = arrays.pop(MAPPED)
            adopted = adopt(written, filling, mapped)  # the loader wrote the entry's file itself
            if adopted is None:
                write_atomically(mapped, lambda p: np.save(p, written, allow_pickle=False))
                adopted = np.load(mapped, mmap_mode="r", allow_pickle=False)
            del written  # the computed copy: the memory map replaces it
            arrays[MAPPED] = adopted
        write_atomically(path, lambda p: _savez(p, **rest))
    finally:
        filling.unlink(missing_ok=True)  # a failed load leaves no partial file behind
    return arrays, False
