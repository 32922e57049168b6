"""Opening the Optuna storage, and keeping credentials out of every message."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import optuna

from mammosearch.errors import StorageError, StorageMissing
from mammosearch.store.heartbeat import grace_period, retry_callback

DEFAULT_DB_NAME = "mammosearch.db"
SCHEMA_RACE_SIGNS = ("already exists", "alembic_version", "UNIQUE constraint failed")
SCHEMA_RACE_RETRIES = 4
DEFAULT_STORAGE = f"sqlite:///results/{DEFAULT_DB_NAME}"  # default_storage(Path("results"))
# A database server's connections per process: one kept open. SQLAlchemy's default pool keeps
# up to 5, and Optuna's RDBStorage leaves 2 open from its start-up checks, so 64 workers held
# 128 connections and met PostgreSQL's default max_connections (100) with "too many clients".
# A second connection needed at once (the heartbeat thread beating during a write) is opened
# and closed again (max_overflow).
SERVER_POOL: dict[str, Any] = {"pool_size": 1, "max_overflow": 4}

# Credentials a storage URL or a libpq/ODBC keyword string can carry, found by their shape
# so that text no parser accepts (a password with an unencoded "@", "/" or ":") is masked too.
# userinfo: everything between "scheme://user:" and the LAST "@" of the token; greedy on
# purpose, so a password containing "@" is masked whole (a host is hidden rather than a
# password shown).
_USERINFO = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)(?P<secret>[^\s'\"]*)(?P<tail>@)")
_SECRET_KEYS = r"(?:ssl)?password|pwd"
# ?password=... &sslpassword=... in a URL's query: the value ends at the next parameter.
_QUERY = re.compile(rf"(?P<head>[?&](?:{_SECRET_KEYS})=)(?P<secret>[^&#\s'\"]*)", re.IGNORECASE)
# host=h password=secret (libpq) or ...;PWD=secret; (ODBC, also percent-encoded inside
# ?odbc_connect=): the value ends at a blank or ";", or is quoted ('it''s', \' escapes).
_KEYWORD = re.compile(rf"(?:(?<=%3B)|(?<![?&\w]))(?P<head>(?:{_SECRET_KEYS})\s*(?:=|%3D)\s*)(?P<secret>'(?:[^'\\]|\\.|'')*'|[^\s;'\"]+)", re.IGNORECASE)
MASK = "***"
# A credential found in the URL is also replaced wherever else it appears (an exception that
# echoes it alone); a very short one only where its shape says so, or every "a" would go.
MIN_ECHOED_SECRET = 4


def _secrets_in(url: str) -> set[str]:
    """Every credential ``url`` carries, as written and percent-decoded (SQLAlchemy's parser where it parses)."""
    found = {m["secret"] for pattern in (_USERINFO, _QUERY, _KEYWORD) for m in pattern.finditer(url)}
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.password:
            found.add(str(parsed.password))
        for key, value in parsed.query.items():
            if re.fullmatch(_SECRET_KEYS, key, re.IGNORECASE):
                found.update([value] if isinstance(value, str) else value)
    except Exception:  # not a URL SQLAlchemy accepts (a keyword string, a typo): the shapes above did it
        pass
    found |= {unquote(secret) for secret in found} | {secret.strip("'") for secret in found}
    return {secret for secret in found if len(secret) >= MIN_ECHOED_SECRET}


def _masked_shapes(text: str) -> str:
    for pattern in (_USERINFO, _QUERY, _KEYWORD):
        text = pattern.sub(lambda m: f"{m['head']}{MASK}{m.groupdict().get('tail') or ''}", text)
    return text


def mask_url(text: str, url: str | None = None) -> str:
    """``text`` with every credential replaced by ``***``: the one place secrets are masked.

    ``text`` is a storage URL (``postgresql://user:secret@host/db`` ->
    ``postgresql://user:***@host/db``), a libpq keyword string, or a message about one.
    With ``url``, the credentials of that URL are also masked wherever else ``text`` echoes
    them (a driver's error quoting the password, or its percent-decoded form); the masked URL
    itself is left readable (``postgres:postgres@`` must not turn the scheme into ``***ql``).
    """
    masked = _masked_shapes(text)
    if url is None:
        return masked
    shown = _masked_shapes(url)
    parts = masked.split(shown)
    for secret in sorted(_secrets_in(url), key=len, reverse=True):
        parts = [part.replace(secret, MASK) for part in parts]
    return shown.join(parts)


def absolute_storage(url: str) -> str:
    """``url`` with a relative SQLite or journal file made absolute: the same storage seen from any folder (a worker's, on another node)."""
    from mammosearch.store.journal import SCHEME, is_journal, journal_path

    if is_journal(url):
        return f"{SCHEME}{journal_path(url).resolve()}"
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url[len(prefix):] not in ("", ":memory:") and not url.startswith(prefix + "file:"):
        path, sep, query = url[len(prefix):].partition("?")
        return f"{prefix}{Path(path).resolve()}{sep}{query}"
    return url


def default_storage(results_dir: Path) -> str:
    """The SQLite file a study lives in when no ``--storage`` is given: inside ``results_dir``.

    Kept next to the models and reports it indexes, so one folder holds a whole search
    and ``--results-dir`` alone is enough to find it again.
    """
    return f"sqlite:///{Path(results_dir) / DEFAULT_DB_NAME}"


def open_storage(url: str, heartbeat: int | None = None, *, create: bool = True) -> optuna.storages.BaseStorage:
    """An RDB storage for ``url``; the folder of a SQLite file is created if missing.

    With ``heartbeat`` (seconds), a running trial beats every ``heartbeat`` seconds; one
    whose process died (``kill -9``, a pre-empted node) is marked FAIL once it has been
    silent for two intervals, and its parameters are queued again (up to 3 times:
    ``store/heartbeat.py``; a journal file the same way, ``store/journal_beats.py``).

    ``create=False`` is for commands that only read: a storage that is not there (a SQLite
    file or its folder missing, a database without Optuna's tables) is one line saying so,
    and nothing is created (no empty database left behind by a mistyped --results-dir).
    """
    from mammosearch.store.journal import is_journal, open_journal

    if is_journal(url):
        return open_journal(url, heartbeat, create=create)  # heartbeats through files next to the log (store/journal_beats.py)
    if not create:
        _require_sqlite_file(url)
    elif url.startswith("sqlite:///"):
        db_path = Path(url[len("sqlite:///"):])
        if str(db_path) not in ("", ":memory:"):
            try:
                db_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the folder of {mask_url(url)}: {exc.strerror}") from None
    engine_kwargs = {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else SERVER_POOL
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeats: stable in practice
            beats: dict[str, Any] = {}
            if heartbeat:
                beats = dict(heartbeat_interval=heartbeat, grace_period=grace_period(heartbeat), heartbeat_stale_trial_callback=retry_callback())
            if not create:
                _require_tables(url, engine_kwargs)
            for attempt in range(SCHEMA_RACE_RETRIES + 1):
                try:
                    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=not create, **beats)
                except Exception as exc:
                    # Two processes creating the same new database at once (a second command,
                    # a dashboard) collide on its schema; the other one finishes it, so open again.
                    if attempt == SCHEMA_RACE_RETRIES or not any(sign in str(exc) for sign in SCHEMA_RACE_SIGNS):
                        raise
                    time.sleep(0.5 * (attempt + 1))
            raise AssertionError("unreachable")
    except StorageError:
        raise
    except Exception as exc:  # sqlalchemy raises ArgumentError, OperationalError, ImportError, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StorageError(
            f"cannot open storage {mask_url(url)}: {mask_url(reason, url)} "
            f"(use e.g. {DEFAULT_STORAGE} or postgresql://user:password@host/db)"
        ) from None


NOTHING_THERE = "nothing was created; check --results-dir or --storage, or run `mammosearch run` first"


def _require_sqlite_file(url: str) -> None:
    """A SQLite storage to read must be an existing file: SQLite would create an empty one."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return  # not a URL: opening it reports why, in one line
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:"):
        raise StorageMissing(f"no study in {mask_url(url)}: an in-memory database holds nothing to read")
    path = Path(database[len("file:"):].split("?")[0] if database.startswith("file:") else database)
    if not path.is_file():
        where = "its folder" if not path.parent.is_dir() else "the file"
        raise StorageMissing(f"no storage at {mask_url(url)}: {where} does not exist ({NOTHING_THERE})")


def _require_tables(url: str, engine_kwargs: dict[str, Any] | None) -> None:
    """The database must hold Optuna's tables before RDBStorage is let near it (it would create them)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, **(engine_kwargs or {}))
    try:
        if not sqlalchemy.inspect(engine).has_table("studies"):
            raise StorageMissing(f"no Optuna storage at {mask_url(url)}: the database holds no study tables ({NOTHING_THERE})")
    finally:
        engine.dispose()


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
