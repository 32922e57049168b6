"""One process at a time fills a cache entry; the others wait for it and read what it wrote.

Workers of one study on a shared file system (a cluster's, or `run --workers N` on one
machine) start together and all miss the same empty cache: unserialized, each would decode
every image and push it through the same frozen backbone, N times the work for one result.
So a fill holds a lock named after the entry (``<entry>.lock``, through ``filelock``:
``flock``, released by the kernel when its holder dies, so a worker killed mid-fill
blocks nobody); whoever gets it next looks again and finds the entry written, or (its
holder killed) fills it itself. The partial file a killed holder leaves is never read
(``partial.py``): an entry is trusted only once renamed into place complete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

SUFFIX = ".lock"
T = TypeVar("T")


def lock_path(final: Path) -> Path:
    return final.with_name(final.name + SUFFIX)


@contextmanager
def filling(final: Path) -> Iterator[None]:
    """Hold the lock of cache entry ``final`` (its folder is created if missing)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(final))):
        yield


def read_or_fill(final: Path, read: Callable[[Path], T | None], fill: Callable[[], T]) -> T:
    """``read(final)`` when the entry is there; else, holding its lock, read again (another process may have filled it meanwhile) or ``fill()``."""
    found = read(final)
    if found is not None:
        return found
    with filling(final):
        found = read(final)
        return found if found is not None else fill()
