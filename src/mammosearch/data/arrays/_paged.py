"""Large arrays on disk: written in place, read a chunk at a time, never resident whole.

A data set of tens of thousands of images is a memory-mapped ``.npy`` (the decoded-image
cache, cached activations). Reading a memory map pages the file in, and Linux counts
those pages in the process's resident set until they are dropped, so a pass over a 3 GB
set would leave 3 GB "resident" although the kernel may reclaim it at will. :func:`chunks`
reads a chunk at a time and then asks the kernel to drop the pages it touched from this
process (``MADV_DONTNEED``; they stay in the page cache, so a second pass is still fast).
A shared file mapping loses nothing by that: its pages are the file's.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mammosearch.data.arrays._partial import filling_path, sweep_stale
from mammosearch.files import write_atomically
from mammosearch.settings import number_setting

# Above this many bytes an array a trial derives from the data (the images at another
# size, the activations, a split's training rows as float32) is kept on disk and read in
# batches; at or below it, in memory, as before (small sets gain nothing from the disk).
DEFAULT_IN_MEMORY_MB = 256
IN_MEMORY_BYTES: int | None = None  # set to override MAMMOSEARCH_IN_MEMORY_MB (tests do)


def in_memory_bytes() -> int:
    """The threshold: ``IN_MEMORY_BYTES``, else ``MAMMOSEARCH_IN_MEMORY_MB`` megabytes, else 256 MB."""
    if IN_MEMORY_BYTES is not None:
        return IN_MEMORY_BYTES
    megabytes = number_setting("MAMMOSEARCH_IN_MEMORY_MB", float, lambda value: 0 <= value < float("inf"), "a number of megabytes (0 or more)",
                               float(DEFAULT_IN_MEMORY_MB), str(DEFAULT_IN_MEMORY_MB))
    return int(megabytes * 2**20)


def is_large(n_bytes: int) -> bool:
    return n_bytes > in_memory_bytes()


def release(array: np.ndarray) -> None:
    """Drop the pages of a memory-mapped ``array`` (or of the map it is a view of) from this process's resident set."""
    if not isinstance(array, np.memmap):
        return
    mapping = getattr(array, "_mmap", None)
    if mapping is None or not hasattr(mapping, "madvise"):
        return
    if array.mode in ("r+", "w+"):
        array.flush()  # written pages reach the file before they leave this process
    try:
        mapping.madvise(mmap.MADV_DONTNEED)
    except (OSError, ValueError):
        pass  # a closed map or a platform without it: pages stay resident, nothing is lost


CHUNK_BYTES = 32 * 2**20  # what a chunk may cost once widened (e.g. to float64)


def rows_within(array: np.ndarray, item_bytes: int = 8, budget: int = CHUNK_BYTES) -> int:
    """How many rows of ``array``, widened to ``item_bytes`` per value, fit in ``budget`` bytes (at least one)."""
    per_row = max(1, int(np.prod(array.shape[1:])) * item_bytes)
    return max(1, budget // per_row)


def chunks(array: np.ndarray, size: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, array[start:start + size])`` over ``array``, dropping each chunk's pages once the caller is done with it.

    ``size`` defaults to :func:`rows_within`: as many rows as fit in 32 MB as float64.
    """
    size = size or rows_within(array)
    for start in range(0, len(array), size):
        yield start, array[start : start + size]
        release(array)


def new_array(path: Path | None, shape: tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    """An array to fill: a ``.npy`` memory map at ``path`` (created, open for writing), or in memory when ``path`` is None."""
    if path is None:
        return np.empty(shape, dtype=dtype)
    path.parent.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def adopt(array: np.ndarray, path: Path | None, final: Path) -> np.ndarray | None:
    """When ``array`` is the memory map :func:`new_array` opened at ``path``: its file moved to
    ``final`` and opened again read-only; otherwise (it was kept in memory) None."""
    if path is None or not isinstance(array, np.memmap) or Path(str(array.filename)).resolve() != path.resolve():
        return None
    array.flush()
    del array
    os.replace(path, final)  # atomic: a reader sees the whole file or none
    return np.load(final, mmap_mode="r", allow_pickle=False)


def read_mapped(path: Path, shape: tuple[int, ...] | None = None, dtype: npt.DTypeLike | None = None) -> np.ndarray | None:
    """The array stored at ``path``, memory-mapped read-only, or None when there is none.

    A torn or foreign file, or one of another ``shape`` or ``dtype`` when they are given, is
    removed, to be made again: a cache file is never trusted blindly.
    """
    if not path.is_file():
        return None
    try:
        stored = np.load(path, mmap_mode="r", allow_pickle=False)
        if (shape is None or stored.shape == shape) and (dtype is None or stored.dtype == np.dtype(dtype)):
            return stored
    except (OSError, ValueError):
        pass
    path.unlink(missing_ok=True)
    return None


def computed_into(final: Path, compute: Callable[[Path], np.ndarray]) -> np.ndarray:
    """``compute(filling)``, kept at ``final``.

    A result written into ``filling`` (a large one, opened with :func:`new_array`) is moved
    to ``final`` and mapped read-only; one kept in memory is saved at ``final`` and returned
    as it is. A cache that cannot be written costs memory, not correctness; a failed
    computation leaves no partial file.
    """
    sweep_stale(final.parent)  # partial files of computations killed earlier (their process is gone)
    filling = filling_path(final)
    try:
        array = compute(filling)
        adopted = adopt(array, filling, final)
        if adopted is not None:
            return adopted
        try:
            write_atomically(final, lambda p: np.save(p, array, allow_pickle=False))
        except OSError:
            pass
        return array
    finally:
        filling.unlink(missing_ok=True)


def stored_or_made(final: Path, shape: tuple[int, ...], dtype: npt.DTypeLike, fill: Callable[[np.ndarray], object]) -> np.ndarray:
    """The array stored at ``final`` (memory-mapped, read-only) when it has ``shape``; else a
    new file filled by ``fill(out)`` and moved there once complete (a torn file is remade)."""
    stored = read_mapped(final, shape, dtype)
    if stored is not None:
        return stored

    def made(filling: Path) -> np.ndarray:
        out = new_array(filling, shape, dtype)
        fill(out)
        return out

    return computed_into(final, made)
