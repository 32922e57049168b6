"""Opening the Optuna storage, and keeping credentials out of every message."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

import optuna

from mammosearch.errors import StorageError

DEFAULT_DB_NAME = "mammosearch.db"
SCHEMA_RACE_SIGNS = ("already exists", "alembic_version", "UNIQUE constraint failed")
SCHEMA_RACE_RETRIES = 4
DEFAULT_STORAGE = f"sqlite:///results/{DEFAULT_DB_NAME}"  # default_storage(Path("results"))

_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:)(?P<secret>[^@]*)(?P<tail>@)")


def default_storage(results_dir: Path) -> str:
    """The SQLite file a study lives in when no ``--storage`` is given: inside ``results_dir``.

    Kept next to the models and reports it indexes, so one folder holds a whole search
    and ``--results-dir`` alone is enough to find it again.
    """
    return f"sqlite:///{Path(results_dir) / DEFAULT_DB_NAME}"


def mask_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return _PASSWORD.sub(lambda m: f"{m['head']}***{m['tail']}", url)


def open_storage(url: str, heartbeat: int | None = None) -> optuna.storages.BaseStorage:
    """An RDB storage for ``url``; the folder of a SQLite file is created if missing.

    With ``heartbeat`` (seconds), a running trial beats every ``heartbeat`` seconds; one
    whose process died (``kill -9``, a pre-empted node) is marked FAIL once it has been
    silent for two intervals, and its parameters are queued again (up to 3 times).
    """
    if url.startswith("sqlite:///"):
        db_path = Path(url[len("sqlite:///"):])
        if str(db_path) not in ("", ":memory:"):
            try:
                db_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the folder of {mask_url(url)}: {exc.strerror}") from None
    engine_kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats: stable in practice
            beats: dict = {}
            if heartbeat:
                beats = dict(
                    heartbeat_interval=heartbeat,
                    grace_period=2 * heartbeat,
                    heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3),
                )
            for attempt in range(SCHEMA_RACE_RETRIES + 1):
                try:
                    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **beats)
                except Exception as exc:
                    # Two processes creating the same new database at once (a second command,
                    # a dashboard) collide on its schema; the other one finishes it, so open again.
                    if attempt == SCHEMA_RACE_RETRIES or not any(sign in str(exc) for sign in SCHEMA_RACE_SIGNS):
                        raise
                    time.sleep(0.5 * (attempt + 1))
            raise AssertionError("unreachable")
    except Exception as exc:  # sqlalchemy raises ArgumentError, OperationalError, ImportError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(
            f"cannot open storage {mask_url(url)}: {mask_url(reason)} "
            f"(use e.g. {DEFAULT_STORAGE} or postgresql://user:password@host/db)"
        ) from None


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Study names, the most recently created last."""
    studies = storage.get_all_studies()
    return [s.study_name for s in sorted(studies, key=lambda s: s._study_id)]


def resolve_study_name(storage: optuna.storages.BaseStorage, url: str, name: str | None) -> str:
    """The study to report on: the one asked for, or the most recent one."""
    names = study_names(storage)
    if name is not None:
        if name not in names:
            known = ", ".join(names) if names else "none yet; run `mammosearch run` first"
            raise StorageError(f"no study named '{name}' in {mask_url(url)} (studies: {known})")
        return name
    if not names:
        raise StorageError(f"no study in {mask_url(url)} yet; run `mammosearch run` first")
    return names[-1]
