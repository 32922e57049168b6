"""An export folder written whole or not at all.

``export-best`` writes every file into a hidden sibling of ``--out`` (``.<out>.export-<host>-<pid>-*``)
and swaps it in only when all are written, so a reader finds the previous export whole or
the new one whole, never a new model under an old card. On Linux the swap is one
``renameat2(RENAME_EXCHANGE)`` call (the old export ends up in the sibling, then removed);
where the kernel or file system lacks it, the old folder is renamed aside
(``.<out>.replaced-<host>-<pid>-*``), the new one renamed in, then the old one removed. A
kill in that instant leaves the old export whole in its sibling: the next export puts it
back if nothing took its place, and removes leftovers of dead processes of this host.
Siblings of live processes or other hosts are left alone.

``model_card.json`` carries ``model_sha256``; :func:`verify_model` is what every command that
loads an export calls (``apply/bundle.py``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mammosearch.downloads import digest_of
from mammosearch.errors import ExportError

MODEL_FILE = "model.keras"
CARD_FILE = "model_card.json"
SHA256_KEY = "model_sha256"
# What export-best writes; a folder holding anything else is not replaced (it may be the user's).
EXPORT_FILES = frozenset({MODEL_FILE, CARD_FILE, "MODEL_CARD.md", "predictions.json", "ensemble_scores.json"})
_RENAME_EXCHANGE = 2  # linux/fs.h


def file_sha256(path: Path) -> str:
    """The sha256 a card records for its model file (read a MiB at a time, as every download check is)."""
    return digest_of(path, "sha256")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"


def _sibling_pattern(out: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(out.name)}\.(?P<kind>export|replaced)-(?P<host>[A-Za-z0-9._]+)-(?P<pid>\d+)-[A-Za-z0-9_]+$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def clean_leftovers(out: Path) -> None:
    """Siblings left by an export of this host whose process is gone: put an old export back if ``out`` is missing, remove the rest."""
    pattern = _sibling_pattern(out)
    if not out.parent.is_dir():
        return
    for sibling in sorted(out.parent.iterdir()):
        match = pattern.match(sibling.name)
        if match is None or match["host"] != _host() or _alive(int(match["pid"])):
            continue
        if match["kind"] == "replaced" and not out.exists():
            os.rename(sibling, out)  # killed between its two renames: the old export is whole here
        else:
            shutil.rmtree(sibling, ignore_errors=True)


def _check_replaceable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder; give a folder for the export")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in EXPORT_FILES)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise ExportError(f"{out} holds files export-best did not write ({shown}); it replaces the whole folder, so give a new or empty folder")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where that is not available here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(staged: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staged, out)
        return
    if _exchange(staged, out):
        shutil.rmtree(staged, ignore_errors=True)  # now holds the old export
        return
    # No atomic exchange here: rename the old export aside, the new one in, then drop the old.
    aside = out.with_name(f".{out.name}.replaced-{_host()}-{os.getpid()}-{secrets.token_hex(4)}")
    os.rename(out, aside)
    os.rename(staged, out)
    shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def staged_export(out: Path) -> Iterator[Path]:
    """A fresh hidden sibling of ``out`` to write the export into; swapped in as ``out`` when the block ends without error."""
    out = Path(out).absolute()
    if out.is_symlink():
        out = out.resolve()  # replace the folder it points to, not the link (rmtree would not follow it)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(out)
        _check_replaceable(out)
        staged = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.export-{_host()}-{os.getpid()}-"))
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror or exc}") from None
    try:
        os.chmod(staged, 0o777 & ~_umask())  # mkdtemp makes it 0700; an export folder gets the user's usual mode
        yield staged
        _swap_in(staged, out)
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror or exc}") from None
    finally:
        if staged.exists():
            shutil.rmtree(staged, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
