"""`data fetch` end to end against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import MINI_MIAS
from mammosearch.cli import app
from mammosearch.data import MiasSpec, SplitSpec, load_image_set
from mammosearch.data.fetch import MINI_MIAS_URL, PinnedFiles, fetch_archive, fetch_mini_mias
from mammosearch.data.fetch import _pinned as pinned
from mammosearch.errors import DataError

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
@pytest.mark.slow
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


# Tiny stand-ins for the pinned files: the rules are tested without 338 MB of images.
FAKE = {"README": b"MIAS\n=====\nmdb001 G CIRC B 535 425 197\nmdb002 G CIRC M 522 280 69\n",
        "mdb001.pgm": b"P5\n2 2\n255\n\x01\x02\x03\x04", "mdb002.pgm": b"P5\n2 2\n255\n\x05\x06\x07\x08"}


def _fake_pins() -> PinnedFiles:
    text = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in FAKE.items())
    return PinnedFiles.parse(text, r"mdb\d{3}\.pgm", ("Info.txt", "README"))


def _archive(path: Path, files: dict[str, bytes]) -> str:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"all-mias/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path.as_uri()


def test_without_a_checksum_every_file_is_checked_and_only_pinned_files_move(tmp_path):
    url = _archive(tmp_path / "a.tar.gz", {**FAKE, "notes.txt": b"who knows"})
    fetched = fetch_mini_mias(tmp_path / "dest", url, pins=_fake_pins())
    assert fetched.verified == 3 and fetched.left_out == ("notes.txt",)
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == ["Info.txt", "README", "mdb001.pgm", "mdb002.pgm"]
    assert (tmp_path / "dest" / "Info.txt").read_bytes() == FAKE["README"]


def test_a_changed_file_is_refused_naming_it_and_nothing_is_moved(tmp_path):
    url = _archive(tmp_path / "a.tar.gz", {**FAKE, "mdb002.pgm": FAKE["mdb002.pgm"][:-1] + b"\x09"})
    with pytest.raises(DataError, match=r"a.tar.gz: mdb002.pgm is not the original file \(sha256 .* is not the pinned") as caught:
        fetch_mini_mias(tmp_path / "dest", url, pins=_fake_pins())
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "dest").exists()


def test_an_incomplete_unpinned_archive_is_refused(tmp_path):
    url = _archive(tmp_path / "a.tar.gz", {"README": FAKE["README"], "mdb001.pgm": FAKE["mdb001.pgm"]})
    with pytest.raises(DataError, match=r"1 of the 2 pinned images are missing \(first: mdb002.pgm\)"):
        fetch_mini_mias(tmp_path / "dest", url, pins=_fake_pins())
    assert not (tmp_path / "dest").exists()


def test_the_default_source_is_checked_against_the_shipped_pins():
    pins = pinned.mini_mias()
    assert len(pins.images) == 322 and set(pins.labels) == {"Info.txt", "README"}
    assert MINI_MIAS_URL.startswith("http://peipa.essex.ac.uk/")  # no HTTPS confirmed: the per-file pins are the check


@needs_mias
def test_the_shipped_pins_are_the_hashes_of_the_real_files():
    pins = pinned.mini_mias()
    with (MINI_MIAS / "MANIFEST.csv").open() as handle:
        manifest = {row["original_pgm"]: row["sha256_original_pgm"] for row in csv.DictReader(handle)}
    assert {name: pins.hashes[name] for name in pins.images} == manifest
    assert pins.hashes["Info.txt"] == hashlib.sha256((MINI_MIAS / "Info.txt").read_bytes()).hexdigest() == pins.hashes["README"]
    from PIL import Image

    for refnum in ("mdb001", "mdb161", "mdb322"):  # the PGM rebuilt from the lossless PNG, as SOURCE.md says
        pgm = b"P5\n1024 1024\n255\n" + Image.open(MINI_MIAS / "images" / f"{refnum}.png").tobytes()
        assert hashlib.sha256(pgm).hexdigest() == pins.hashes[f"{refnum}.pgm"]


@needs_mias
def test_the_cli_refuses_a_tampered_image_from_an_unpinned_mirror(server, tmp_path):
    www, base = server
    archive = _mias_archive(www / "m.tar.gz", ["mdb001", "mdb002"])
    with tarfile.open(archive) as tf:  # the same two images, the second one changed by one byte
        files = {Path(m.name).name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}
    files["README"] = (MINI_MIAS / "Info.txt").read_bytes()
    files["mdb002.pgm"] = files["mdb002.pgm"][:-1] + bytes([files["mdb002.pgm"][-1] ^ 1])
    _archive(www / "m.tar.gz", files)
    dest = tmp_path / "dest"
    result = CliRunner().invoke(app, ["data", "fetch", "mini-mias", "--dest", str(dest), "--url", f"{base}/m.tar.gz"])
    assert result.exit_code == 3
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "mdb002.pgm is not the original file" in errors[0], result.output
    assert not dest.exists()
