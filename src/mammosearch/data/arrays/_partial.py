"""Partial ("filling") cache files: named for the process writing them, swept once it is gone.

A cache entry is written into ``<final>.<pid>@<host>.filling`` and renamed to ``<final>``
when complete. A process killed mid-fill (SIGKILL, the OOM killer, a node lost) cannot
remove its file, and a large set's partial file is gigabytes. The name says who wrote it,
so whoever opens the cache next removes a partial file whose writer is provably gone: its
host is this host and no process with its pid is alive, or the process that now has the
pid started after the file was last written (the pid was reused). A file written on
another host is never touched (a shared cache folder on a cluster: that host's process may
be alive), nor is a file of a live writer.
"""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import psutil

SUFFIX = ".filling"
# Files named by earlier versions (``<final>.<pid>.filling``) say no host: removed only when
# their pid is dead here AND nobody has written them for this long (a live writer on
# another host writes its file continuously).
LEGACY_GRACE_S = 3600.0

PID_REUSE_MARGIN_S = 600.0

_NAMED = re.compile(r"^(?P<final>.+)\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9._-]+)\.filling$")
_LEGACY = re.compile(r"^(?P<final>.+)\.(?P<pid>\d+)\.filling$")


def this_host() -> str:
    """The host name as it appears in file names (characters a file name can safely hold)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "localhost"


def filling_path(final: Path) -> Path:
    """Where this process writes ``final`` before renaming it into place."""
    return final.with_name(f"{final.name}.{os.getpid()}@{this_host()}{SUFFIX}")


def _writer_gone(pid: int, last_written: float) -> bool:
    try:
        started = psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return True
    except (psutil.AccessDenied, OSError):
        return False  # alive, owned by someone else: keep
    # A process that started after the file's last write cannot be the one writing it. The
    # margin covers clock skew between a file server (which stamps mtime) and this host.
    return started > last_written + PID_REUSE_MARGIN_S


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` is a partial file whose writer is gone (see the module docstring)."""
    named, legacy = _NAMED.match(path.name), _LEGACY.match(path.name)
    if named is None and legacy is None:
        return False
    try:
        last_written = path.stat().st_mtime
    except OSError:
        return False  # already gone
    if named is not None:
        return named["host"] == this_host() and _writer_gone(int(named["pid"]), last_written)
    assert legacy is not None
    old_enough = (now if now is not None else time.time()) - last_written > LEGACY_GRACE_S
    return old_enough and _writer_gone(int(legacy["pid"]), last_written)


def sweep_stale(directory: Path) -> list[Path]:
    """Remove the stale partial files directly in ``directory``; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = [Path(entry.path) for entry in os.scandir(directory) if entry.name.endswith(SUFFIX)]
    except OSError:
        return removed  # no cache folder yet, or unreadable: nothing to sweep
    for path in entries:
        if is_stale(path):
            try:
                path.unlink()
            except OSError:
                continue  # removed by another sweeper meanwhile, or read-only: harmless
            removed.append(path)
    return removed
