"""File names as people read them, and the links that lead nowhere: the odd entries a data folder holds.

Two kinds of entry break naive code, and both are common in real collections:

* a name that is not valid UTF-8 (written on a system with another encoding): Python
  holds its bytes as lone surrogates, which print, ``str.encode`` and a UTF-8 CSV all
  refuse. :func:`shown` is the one way such a name becomes text, each foreign byte as
  ``\\xNN``, so a message or a written file can always carry it.
* a symbolic link whose target is missing or that loops: a git-annex or DVC file that was
  never fetched is exactly this, named like an image. :func:`link_problem` says why it
  cannot be opened, in words, before anything tries to.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from mammosearch.errors import DataError

__all__ = ["link_problem", "refuse_unusable", "resolved", "shown", "undecodable"]


def shown(name: Path | str) -> str:
    """``name`` as printable, writable text: bytes that were not UTF-8 become ``\\xNN`` escapes (else unchanged)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def undecodable(name: Path | str) -> bool:
    """True when ``name`` holds bytes that are not UTF-8 (Python's surrogate escapes)."""
    try:
        str(name).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def link_problem(path: Path) -> str | None:
    """Why the link ``path`` cannot be opened (a missing target, a loop), in one line naming it; None when it can, or is no link."""
    try:
        if not path.is_symlink():
            return None
        path.stat()  # follows the link to its end
    except FileNotFoundError:
        try:
            target = shown(os.readlink(path))
        except OSError:
            target = "?"
        return (f"{shown(path)} is a symbolic link to {target}, which does not exist (a git-annex or DVC file "
                f"not fetched? `git annex get` or `dvc pull` it, or remove the link)")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{shown(path)} is a symbolic link loop (it leads back to itself); fix or remove the link"
        return f"{shown(path)}: {exc.strerror or exc}"
    return None


def refuse_unusable(path: Path) -> None:
    """A training source's file that cannot be used as named: a broken link, or a name that is not UTF-8.

    A training set's file names travel into the cache key, the study's stored predictions
    and the reports; a name that is not text is refused here, once, with the fix, rather
    than half-way through one of those.
    """
    problem = link_problem(path)
    if problem is not None:
        raise DataError(problem)
    if undecodable(path):
        raise DataError(f"file name {shown(path)} is not valid UTF-8 (written in another encoding); rename it "
                        f"(e.g. `convmv -f latin1 -t utf-8 --notest <file>`) so it can be stored and reported")


def resolved(path: Path) -> Path:
    """``path.resolve()``, or the absolute path when a link on the way loops (``resolve`` raises then)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError("Symlink loop from ...")
        return Path(os.path.abspath(path))
