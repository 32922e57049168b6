"""Downloading a public archive, verifying it, and unpacking it safely.

Unpacking refuses members with absolute paths, ``..`` components, links, or device
files: an archive from the internet must not write outside its destination.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from mammosearch.data.sources.mias import default_root
from mammosearch.downloads import DownloadError, Progress, digest_of
from mammosearch.downloads import download as fetch_file
from mammosearch.errors import DataError

# The Pilot European Image Processing Archive's copy of mini-MIAS (PGM files + README).
MINI_MIAS_URL = "http://peipa.essex.ac.uk/pix/mias/all-mias.tar.gz"

def download(url: str, target: Path, progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` into ``target``; a failure is a :class:`DataError` (the data could not be had)."""
    try:
        return fetch_file(url, target, progress, timeout)
    except DownloadError as exc:
        raise DataError(str(exc)) from None


def sha256_of(path: Path) -> str:
    return digest_of(path, "sha256")


def _safe_member(name: str, archive: Path) -> PurePosixPath:
    member = PurePosixPath(name)
    if member.is_absolute() or ".." in member.parts or name.startswith(("/", "\\")):
        raise DataError(f"{archive}: refusing member {name!r}, which would be written outside the destination")
    return member


def unpack(archive: Path, dest: Path) -> Path:
    """Unpack a .zip, .tar, .tar.gz or .tgz into ``dest`` after checking every member."""
    dest.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _safe_member(info.filename, archive)
            zf.extractall(dest)
        return dest
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for member in members:
                _safe_member(member.name, archive)
                if not (member.isfile() or member.isdir()):
                    raise DataError(f"{archive}: refusing member {member.name!r}: only regular files and folders are unpacked")
            tf.extractall(dest, members=members, filter="data")
    except tarfile.TarError as exc:
        raise DataError(f"{archive}: not a zip or tar archive ({exc})") from None
    return dest


def find_folder_with(root: Path, name: str) -> Path:
    for path in sorted(root.rglob(name)):
        return path.parent
    raise DataError(f"no {name} found under {root}; is this the right archive?")


def fetch_archive(url: str, dest: Path, sha256: str | None = None, progress: Progress | None = None) -> Path:
    """Download, verify and unpack ``url`` into ``dest``; returns ``dest``."""
    if not url.startswith(("http://", "https://", "file://")):
        raise DataError(f"unsupported URL {url!r}: use http://, https:// or file://")
    with tempfile.TemporaryDirectory() as work:
        archive = download(url, Path(work) / "archive", progress)
        if sha256 is not None and sha256_of(archive) != sha256.lower():
            raise DataError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {sha256_of(archive)}; the file was not unpacked")
        staging = Path(work) / "unpacked"
        unpack(archive, staging)
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


def fetch_mini_mias(dest: Path | None = None, url: str | None = None, sha256: str | None = None, progress: Progress | None = None) -> Path:
    """Fetch mini-MIAS into ``dest`` (default: where the `mias` loader looks); returns the folder holding Info.txt.

    The archive's README is the label table; it is saved as ``Info.txt`` (the name the
    loader and most copies use) when the archive only has ``README``.
    """
    dest = dest or default_root()
    with tempfile.TemporaryDirectory() as work:
        staging = fetch_archive(url or MINI_MIAS_URL, Path(work) / "mias", sha256, progress)
        try:
            folder = find_folder_with(staging, "Info.txt")
        except DataError:
            folder = find_folder_with(staging, "README")
            shutil.copyfile(folder / "README", folder / "Info.txt")
        if not any(folder.glob("mdb*.p?m")) and not any((folder / "images").glob("mdb*.png")):
            raise DataError(f"{url or MINI_MIAS_URL}: the archive holds Info.txt but no mdbNNN images")
        move_contents(folder, dest)
    return dest
