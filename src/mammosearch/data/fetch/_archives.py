"""Unpacking a downloaded archive safely: where members go, what they are, and how much they hold.

Every member is checked before anything is written: no absolute paths, no ``..``, no
links or device files (an archive from the internet must not write outside its folder),
and the members' total unpacked size, as the archive's own headers declare it, must stay
under :class:`ArchiveLimits` (a 2 MB zip of zeros otherwise unpacks gigabytes). The
headers are then held to what they declared while unpacking: a zip member is copied with
its declared size as a hard budget, and a compressed tar is read through a decompressed
stream that stops at the size limit, so a lying header cannot write more either.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mammosearch.errors import DataError

MB = 2**20


@dataclass(frozen=True)
class ArchiveLimits:
    """How much an archive may unpack to: in all, and per byte of the archive (zip bombs compress 1000:1)."""

    max_unpacked_mb: float = 4096.0  # mini-MIAS unpacks to 338 MB
    max_ratio: float = 200.0  # ordinary image archives compress 1.5-10:1; bombs 1000:1 and more
    ratio_floor_mb: float = 16.0  # below this total the ratio does not matter (a small text file compresses well)

    def check(self, archive: Path, total: int, label: str) -> None:
        """Refuse ``total`` declared bytes from ``archive`` (``label`` in messages) when they pass a bound, before anything is written."""
        size = max(1, archive.stat().st_size)
        if total > self.max_unpacked_mb * MB:
            raise DataError(f"{label}: refusing to unpack {total / MB:,.0f} MB (the limit is {self.max_unpacked_mb:,.0f} MB; "
                            "raise it with --max-unpacked-mb if the archive is trusted)")
        if total > self.ratio_floor_mb * MB and total / size > self.max_ratio:
            raise DataError(f"{label}: refusing to unpack {total / MB:,.0f} MB from {size / MB:,.1f} MB, a compression ratio of "
                            f"{total / size:,.0f}:1 (the limit is {self.max_ratio:,.0f}:1: is it a zip bomb? raise it with --max-ratio if trusted)")


def safe_member(name: str, archive: str) -> PurePosixPath:
    member = PurePosixPath(name)
    if member.is_absolute() or ".." in member.parts or name.startswith(("/", "\\")):
        raise DataError(f"{archive}: refusing member {name!r}, which would be written outside the destination")
    return member


class _Budget(io.RawIOBase):
    """A decompressed stream that refuses to go past ``limit`` bytes (a tar whose compressed body lies)."""

    def __init__(self, inner: io.BufferedIOBase, limit: int, archive: str, limit_mb: float) -> None:
        self.inner, self.limit, self.archive, self.limit_mb = inner, limit, archive, limit_mb

    def _over(self, position: int) -> None:
        if position > self.limit:
            raise DataError(f"{self.archive}: refusing to unpack past the limit of {self.limit_mb:,.0f} MB ("
                            "raise it with --max-unpacked-mb if the archive is trusted)")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self.inner.tell() + offset if whence == io.SEEK_CUR else None
        if target is not None:
            self._over(target)
        return self.inner.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        room = self.limit - self.inner.tell()
        data = self.inner.read(max(0, min(len(buffer), room + 1)))  # one byte past the limit shows a lie
        buffer[: len(data)] = data
        self._over(self.inner.tell())
        return len(data)


def _decompressed(archive: Path) -> io.BufferedIOBase:
    with archive.open("rb") as handle:
        head = handle.read(6)
    if head.startswith(b"\x1f\x8b"):
        return gzip.open(archive, "rb")
    if head.startswith(b"BZh"):
        return bz2.open(archive, "rb")
    if head.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(archive, "rb")
    return archive.open("rb")


def _unpack_zip(archive: Path, dest: Path, limits: ArchiveLimits, label: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:
            safe_member(info.filename, label)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the zip says nothing (Windows tools)
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise DataError(f"{label}: refusing member {info.filename!r}: only regular files and folders are unpacked")
        limits.check(archive, sum(info.file_size for info in infos), label)
        for info in infos:
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source, target.open("wb") as out:
                # zipfile stops at the declared size and checks the CRC; the budget says so in one line.
                copied = _copy_within(source, out, info.file_size)
            if copied != info.file_size:
                raise DataError(f"{label}: member {info.filename!r} holds {copied:,} bytes, not the {info.file_size:,} its header declares")


def _copy_within(source: IO[bytes], out: IO[bytes], budget: int) -> int:
    done = 0
    while chunk := source.read(min(1 << 20, budget - done + 1)):
        done += len(chunk)
        if done > budget:
            return done
        out.write(chunk)
    return done


def _unpack_tar(archive: Path, dest: Path, limits: ArchiveLimits, label: str) -> None:
    # The members' sizes plus their headers and padding (512 bytes each, rounded): past this
    # the declared sizes are over the limit anyway, so nothing more is decompressed.
    budget = int(limits.max_unpacked_mb * MB) + MB
    with _decompressed(archive) as raw, tarfile.open(fileobj=io.BufferedReader(_Budget(raw, budget, label, limits.max_unpacked_mb)), mode="r:") as tf:
        members = tf.getmembers()
        for member in members:
            safe_member(member.name, label)
            if not (member.isfile() or member.isdir()):
                raise DataError(f"{label}: refusing member {member.name!r}: only regular files and folders are unpacked")
        limits.check(archive, sum(member.size for member in members if member.isfile()), label)
        tf.extractall(dest, members=members, filter="data")


def unpack(archive: Path, dest: Path, limits: ArchiveLimits | None = None, shown_as: str | None = None) -> Path:
    """Unpack a .zip, .tar, .tar.gz/.tgz, .tar.bz2 or .tar.xz into ``dest`` after checking every member and the sizes.

    Messages name ``shown_as`` (the URL it came from) or else the archive's path.
    """
    limits = limits or ArchiveLimits()
    label = shown_as or str(archive)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, dest, limits, label)
        else:
            _unpack_tar(archive, dest, limits, label)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError) as exc:
        # What was written so far stays in ``dest``: the caller unpacks into a staging folder it removes.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{label}: cannot unpack it ({reason}); is it a complete zip or tar archive?") from None
    return dest
