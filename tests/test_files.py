"""Every file the tool writes gets the permissions the user's umask gives a new file (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mammosearch.files import write_atomically, write_json


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    previous = os.umask(0o022)
    os.umask(previous)
    yield set_mask
    os.umask(previous)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    path = write_json(tmp_path / "sub" / "x.json", {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == expected
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_json(tmp_path / "x.json", {"old": True})

    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(target, broken)
    assert target.read_text(encoding="utf-8") == '{\n  "old": true\n}'
    assert list(tmp_path.iterdir()) == [target]


def test_every_file_a_study_writes_has_the_umask_permissions(tiny_study):
    mask = os.umask(0)
    os.umask(mask)
    files = [p for p in Path(tiny_study["results"]).rglob("*") if p.is_file()]
    assert any(p.name == "model.keras" for p in files) and any(p.name == "predictions.json" for p in files)
    wrong = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files if stat.S_IMODE(p.stat().st_mode) != 0o666 & ~mask}
    assert not wrong, wrong
