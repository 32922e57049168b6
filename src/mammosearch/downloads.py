"""Downloading one file: streamed to a temporary file beside the target, renamed when complete.

Shared by `data fetch` and `weights fetch`. A broken download leaves nothing behind, and
the file gets the permissions of the user's umask (``files.write_atomically``).
"""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Callable
from pathlib import Path

from mammosearch.errors import MammosearchError
from mammosearch.files import write_atomically

Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None)


class DownloadError(MammosearchError):
    """A file could not be fetched or did not match its checksum."""

    exit_code = 6


def _stream(url: str, target: Path, progress: Progress | None, timeout: float) -> None:
    with target.open("wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        total = int(response.headers.get("Content-Length") or 0) or None
        done = 0
        while chunk := response.read(1 << 16):
            out.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def download(url: str, target: Path, progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` into ``target``; raises :class:`DownloadError` with the reason."""
    if not url.startswith(("http://", "https://", "file://")):
        raise DownloadError(f"cannot download {url}: only http, https and file URLs are fetched")
    try:
        return write_atomically(target, lambda tmp: _stream(url, tmp, progress, timeout))
    except OSError as exc:
        raise DownloadError(f"cannot download {url}: {getattr(exc, 'reason', None) or exc}") from None


def digest_of(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
