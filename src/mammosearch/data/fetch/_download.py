"""Downloading a public archive, verifying it, and unpacking it safely.

Verification: ``--sha256`` pins a whole archive (any source); the default mini-MIAS source
publishes no archive checksum, so each unpacked file is checked against the hashes the
package ships (``pinned.py``) before anything is moved into place. Unpacking
(``archives.py``) refuses members that would land outside the destination, links, device
files and archives that unpack past a size or compression-ratio bound.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mammosearch.data.fetch import _pinned as pinned
from mammosearch.data.fetch._archives import ArchiveLimits, unpack
from mammosearch.data.sources.mias import default_root
from mammosearch.downloads import DownloadError, Progress, digest_of
from mammosearch.downloads import download as fetch_file
from mammosearch.errors import DataError

# The Pilot European Image Processing Archive's copy of mini-MIAS (PGM files + README).
# Plain HTTP: no HTTPS address of this host could be confirmed (it is cited with http://
# everywhere), so what makes the default safe is the per-file check against the pinned
# hashes, not the transport.
MINI_MIAS_URL = "http://peipa.essex.ac.uk/pix/mias/all-mias.tar.gz"


def download(url: str, target: Path, progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` into ``target``; a failure is a :class:`DataError` (the data could not be had)."""
    try:
        return fetch_file(url, target, progress, timeout)
    except DownloadError as exc:
        raise DataError(str(exc)) from None


def sha256_of(path: Path) -> str:
    return digest_of(path, "sha256")


def find_folder_with(root: Path, name: str) -> Path:
    for path in sorted(root.rglob(name)):
        return path.parent
    raise DataError(f"no {name} found under {root}; is this the right archive?")


def fetch_archive(url: str, dest: Path, sha256: str | None = None, progress: Progress | None = None, limits: ArchiveLimits | None = None) -> Path:
    """Download, verify (when ``sha256`` is given) and unpack ``url`` into ``dest``; returns ``dest``."""
    if not url.startswith(("http://", "https://", "file://")):
        raise DataError(f"unsupported URL {url!r}: use http://, https:// or file://")
    with tempfile.TemporaryDirectory() as work:
        archive = download(url, Path(work) / "archive", progress)
        if sha256 is not None and sha256_of(archive) != sha256.lower():
            raise DataError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {sha256_of(archive)}; the file was not unpacked")
        staging = Path(work) / "unpacked"
        unpack(archive, staging, limits, shown_as=url)
        move_contents(staging, dest)
    return dest


def move_contents(source: Path, dest: Path) -> None:
    """Move everything in ``source`` into ``dest``, replacing what has the same name."""
    dest.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        target = dest / item.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        shutil.move(str(item), target)


@dataclass(frozen=True)
class Fetched:
    folder: Path  # where the data set now is (the loader's folder)
    verified: int  # files checked against the pinned hashes
    left_out: tuple[str, ...]  # files no hash vouches for, not moved (only without --sha256)


def fetch_mini_mias(dest: Path | None = None, url: str | None = None, sha256: str | None = None, progress: Progress | None = None,
                    limits: ArchiveLimits | None = None, pins: pinned.PinnedFiles | None = None) -> Fetched:
    """Fetch mini-MIAS into ``dest`` (default: where the `mias` loader looks).

    Without ``sha256`` (the default source, or a mirror nobody pinned) the package's pinned
    hashes are the check: all 322 images and the label file must be there and match, and
    only files they vouch for are moved. With ``sha256`` the archive is pinned by the user;
    the images it holds under their original names must still match. The archive's README
    is the label table; it is saved as ``Info.txt`` (the name the loader uses) when the
    archive has only ``README``.
    """
    dest = dest or default_root()
    source = url or MINI_MIAS_URL
    pins = pins or pinned.mini_mias()
    with tempfile.TemporaryDirectory() as work:
        staging = fetch_archive(source, Path(work) / "mias", sha256, progress, limits)
        try:
            folder = find_folder_with(staging, "Info.txt")
        except DataError:
            folder = find_folder_with(staging, "README")
        verified, unpinned = pins.verify(folder, source, complete=sha256 is None)
        if sha256 is None:
            chosen = Path(work) / "verified"
            chosen.mkdir()
            for path in verified:
                shutil.move(str(path), chosen / path.name)
            folder, left_out = chosen, tuple(unpinned)
        else:
            left_out = ()
        if not (folder / "Info.txt").is_file():
            shutil.copyfile(folder / "README", folder / "Info.txt")
        if not any(folder.glob("mdb*.p?m")) and not any((folder / "images").glob("mdb*.png")):
            raise DataError(f"{source}: the archive holds Info.txt but no mdbNNN images")
        move_contents(folder, dest)
    return Fetched(dest, len(verified), left_out)
