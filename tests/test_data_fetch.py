"""`data fetch` end to end against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.data.fetch import fetch_archive
from mammosearch.data.loading import load_image_set
from mammosearch.data.sources.mias import MiasSpec
from mammosearch.data.split import SplitSpec
from mammosearch.errors import DataError

from conftest import MINI_MIAS

needs_mias = pytest.mark.skipif(not MINI_MIAS.is_dir(), reason=f"mini-MIAS not present at {MINI_MIAS}")


def _mias_archive(path: Path, refnums: list[str]) -> Path:
    """A tar.gz in the original layout: README (the label table) + mdbNNN.pgm."""
    import numpy as np
    from PIL import Image

    rows = [line for line in (MINI_MIAS / "Info.txt").read_text(encoding="latin-1").splitlines() if line[:6] in refnums]
    with tarfile.open(path, "w:gz") as tf:
        readme = ("MIAS\n=====\n" + "\n".join(rows) + "\n").encode()
        info = tarfile.TarInfo("all-mias/README")
        info.size = len(readme)
        tf.addfile(info, io.BytesIO(readme))
        for refnum in refnums:
            pixels = np.asarray(Image.open(MINI_MIAS / "images" / f"{refnum}.png"))
            data = b"P5\n1024 1024\n255\n" + pixels.tobytes()
            member = tarfile.TarInfo(f"all-mias/{refnum}.pgm")
            member.size = len(data)
            tf.addfile(member, io.BytesIO(data))
    return path


@needs_mias
def test_fetch_mini_mias_from_a_local_server_then_load_it(server, tmp_path):
    www, base = server
    lesions = [l.split() for l in (MINI_MIAS / "Info.txt").read_text(encoding="latin-1").splitlines() if l.startswith("mdb") and len(l.split()) >= 7]
    benign = [f[0] for f in lesions if f[3] == "B"][:6]
    malignant = [f[0] for f in lesions if f[3] == "M"][:6]
    refnums = sorted(set(benign + malignant + ["mdb003"]))  # plus a normal image
    archive = _mias_archive(www / "all-mias.tar.gz", refnums)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest = tmp_path / "data" / "mini-mias"
    result = CliRunner().invoke(app, ["data", "fetch", "mini-mias", "--dest", str(dest), "--url", f"{base}/all-mias.tar.gz", "--sha256", digest])
    assert result.exit_code == 0, result.output
    assert (dest / "Info.txt").is_file() and (dest / "mdb001.pgm").is_file()
    images = load_image_set(MiasSpec(root=dest, image_size=32), SplitSpec(validation=0.3))
    assert set(images.labels.tolist()) == {0, 1}
    rows = [l for l in (dest / "Info.txt").read_text().splitlines() if l.startswith("mdb") and "NORM" not in l]
    assert len(images.labels) == len(rows) > 0


@needs_mias
def test_a_wrong_checksum_is_refused_and_nothing_is_unpacked(server, tmp_path):
    www, base = server
    _mias_archive(www / "a.tar.gz", ["mdb001", "mdb002"])
    dest = tmp_path / "dest"
    result = CliRunner().invoke(app, ["data", "fetch", "mini-mias", "--dest", str(dest), "--url", f"{base}/a.tar.gz", "--sha256", "0" * 64])
    assert result.exit_code == 3 and "checksum mismatch" in result.output
    assert not dest.exists() or not any(dest.iterdir())


def test_path_traversal_members_are_refused(server, tmp_path):
    www, base = server
    with tarfile.open(www / "evil.tar.gz", "w:gz") as tf:
        payload = b"owned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match="refusing member '../../escaped.txt'"):
        fetch_archive(f"{base}/evil.tar.gz", tmp_path / "out" / "inner")
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out" / "escaped.txt").exists()


def test_symlinks_in_archives_are_refused(server, tmp_path):
    www, base = server
    with tarfile.open(www / "link.tar", "w") as tf:
        info = tarfile.TarInfo("data/passwd")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(DataError, match="only regular files and folders"):
        fetch_archive(f"{base}/link.tar", tmp_path / "out")


def test_an_unreachable_url_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["data", "fetch", "mini-mias", "--dest", str(tmp_path / "d"), "--url", "http://127.0.0.1:9/x.tar.gz"])
    assert result.exit_code == 3 and "cannot download http://127.0.0.1:9/x.tar.gz" in result.output
