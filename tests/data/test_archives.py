"""Archives that unpack too much, or lie about it, are refused before (or while) writing."""

from __future__ import annotations

import io
import stat
import struct
import tarfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.data.fetch import ArchiveLimits, unpack
from mammosearch.errors import DataError


def _written(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_a_zip_bomb_is_refused_by_the_cli_before_anything_is_written(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("all-mias/mdb001.pgm", b"\0" * (20 * 2**20))  # 20 MB of zeros: about 20 KB zipped
    dest = tmp_path / "dest"
    result = CliRunner().invoke(app, ["data", "fetch", "mini-mias", "--dest", str(dest), "--url", bomb.as_uri()])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "compression ratio" in lines[0] and "zip bomb" in lines[0] and "Traceback" not in result.output
    assert _written(dest) == []


def test_the_unpacked_size_limit_is_read_from_the_headers_and_configurable(tmp_path):
    archive = tmp_path / "big.tar.gz"
    payload = np.random.default_rng(0).integers(0, 256, 3 * 2**20, dtype=np.uint8).tobytes()  # incompressible
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("big.bin")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match=r"big.tar.gz: refusing to unpack .*the limit .*2 MB"):
        unpack(archive, tmp_path / "out", ArchiveLimits(max_unpacked_mb=2))
    assert _written(tmp_path / "out") == []
    unpack(archive, tmp_path / "ok", ArchiveLimits(max_unpacked_mb=4))
    assert (tmp_path / "ok" / "big.bin").read_bytes() == payload


def test_a_tar_header_declaring_terabytes_is_refused_without_decompressing_them(tmp_path):
    archive = tmp_path / "liar.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("huge.bin")
        info.size = 2 * 2**40  # declared; the stream holds only the header
        tf.addfile(info)
    started = time.perf_counter()
    with pytest.raises(DataError, match="liar.tar.gz"):
        unpack(archive, tmp_path / "out")
    assert time.perf_counter() - started < 2.0
    assert _written(tmp_path / "out") == []


def _patch_uncompressed_size(archive: Path, size: int) -> None:
    """Make a stored zip member's headers (local and central) declare ``size`` bytes."""
    data = bytearray(archive.read_bytes())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, size)
    struct.pack_into("<I", data, central + 24, size)
    archive.write_bytes(bytes(data))


def test_a_zip_member_holding_more_than_its_header_declares_is_refused(tmp_path):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("a.bin", b"x" * 5000)
    _patch_uncompressed_size(archive, 10)
    with pytest.raises(DataError, match="liar.zip"):
        unpack(archive, tmp_path / "out")
    assert all(path.stat().st_size <= 10 for path in _written(tmp_path / "out"))


def test_a_symlink_in_a_zip_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("data/passwd")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="only regular files and folders"):
        unpack(archive, tmp_path / "out")
    assert _written(tmp_path / "out") == []


def test_path_traversal_in_a_zip_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escaped.txt", "owned")
    with pytest.raises(DataError, match="written outside the destination"):
        unpack(archive, tmp_path / "a" / "b")
    assert not (tmp_path / "escaped.txt").exists()
