"""Optuna's journal storage: one append-only log file on a shared file system, for labs without a database server.

``--storage journal:///shared/studies/mammo.log`` (or any path ending in ``.log``) keeps
every study in that file, written through Optuna's ``JournalFileBackend`` with its own
lock (a symlink lock, which works on NFS where SQLite's ``fcntl`` locking does not). With
``heartbeat`` a running trial beats through a file next to the log (``journal_beats.py``),
so the trial of a killed worker is failed and its parameters queued again, as on
PostgreSQL. What it lacks against PostgreSQL: every process replays the whole log when it
opens the study, and writes are serialized through one lock file. Prefer PostgreSQL for
many workers or long studies.
"""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages.journal import JournalFileBackend

from mammosearch.errors import StorageError, StorageMissing
from mammosearch.store.heartbeat import grace_period, retry_callback
from mammosearch.store.journal_beats import HeartbeatJournalStorage, beats_dir

SCHEME = "journal://"
SUFFIX = ".log"


def is_journal(url: str) -> bool:
    """Whether ``url`` names a journal file: ``journal:///path`` or a plain path ending in ``.log``."""
    return url.startswith(SCHEME) or ("://" not in url and url.endswith(SUFFIX))


def journal_path(url: str) -> Path:
    """The log file of a journal URL (``journal:///abs/path.log`` -> ``/abs/path.log``; ``journal://rel.log`` -> ``rel.log``)."""
    path = url[len(SCHEME):] if url.startswith(SCHEME) else url
    if not path:
        raise StorageError(f"{url}: a journal storage names its log file, e.g. journal:///shared/studies/mammo.log")
    return Path(path)


def open_journal(url: str, heartbeat: int | None = None, *, create: bool = True) -> optuna.storages.BaseStorage:
    """The journal storage in ``url``'s file, its running trials beating every ``heartbeat`` seconds (None: no heartbeat);
    with ``create=False`` a missing file is :class:`StorageMissing` (nothing is created)."""
    path = journal_path(url)
    if not create and not path.is_file():
        where = "its folder" if not path.parent.is_dir() else "the file"
        raise StorageMissing(f"no journal storage at {url}: {where} does not exist (nothing was created; check --storage, or run `mammosearch run` first)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = JournalFileBackend(str(path))
        if not heartbeat:
            return optuna.storages.JournalStorage(backend)
        return HeartbeatJournalStorage(backend, beats_dir(path), heartbeat, grace_period(heartbeat), retry_callback())
    except OSError as exc:
        raise StorageError(f"cannot open journal storage {url}: {exc.strerror or exc}") from None
