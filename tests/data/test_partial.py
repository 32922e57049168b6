"""Partial cache files of killed fills are swept when the cache is next opened; a live writer's never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mammosearch
from mammosearch.data.arrays import cached, filling_path, stored_or_made, sweep_stale, this_host

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

SRC = Path(mammosearch.__file__).resolve().parents[1]

CHILD = """
import sys, time
from pathlib import Path
import numpy as np
from mammosearch.data.arrays import stored_or_made


def fill(out):
    out[:] = 7
    out.flush()
    print("filling", flush=True)
    time.sleep(120)  # killed long before this ends

stored_or_made(Path(sys.argv[1]), (4, 8, 8, 1), np.uint8, fill)
"""


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_fill_killed_with_sigkill_leaves_a_file_that_the_next_open_removes(tmp_path):
    final = tmp_path / "cache" / "key-32px.images.npy"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(final)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "filling"
        partial = final.with_name(f"{final.name}.{child.pid}@{this_host()}.filling")
        assert partial.is_file()
        assert sweep_stale(final.parent) == [] and partial.is_file()  # its writer is alive: kept
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert partial.is_file()  # what a killed process leaves behind
    array = stored_or_made(final, (4, 8, 8, 1), np.uint8, lambda out: out.fill(3))
    assert not partial.exists()
    assert int(array.max()) == 3 and final.is_file()


def test_opening_the_image_cache_removes_only_partial_files_whose_writer_is_gone(tmp_path):
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    dead = _dead_pid()
    mine = filling_path(cache_dir / "live.images.npy")  # this test's own process: alive
    stale = cache_dir / f"a.images.npy.{dead}@{this_host()}.filling"
    elsewhere = cache_dir / f"b.images.npy.{dead}@another-node.filling"
    legacy_old = cache_dir / f"c.images.npy.{dead}.filling"
    legacy_new = cache_dir / f"d.images.npy.{dead}.filling"
    for path in (mine, stale, elsewhere, legacy_old, legacy_new):
        path.write_bytes(b"\0" * 64)
    two_hours_ago = time.time() - 7200
    os.utime(legacy_old, (two_hours_ago, two_hours_ago))

    arrays, hit = cached(cache_dir, "k", lambda: {"labels": np.zeros(3)})

    assert not hit and arrays["labels"].shape == (3,)
    assert not stale.exists() and not legacy_old.exists()
    assert mine.is_file() and elsewhere.is_file() and legacy_new.is_file()


def test_a_pid_reused_by_a_later_process_does_not_keep_a_stale_file(tmp_path):
    # Our own pid, but the file was last written before this process started: not ours.
    stale = filling_path(tmp_path / "x.images.npy")
    stale.write_bytes(b"\0")
    long_ago = time.time() - 10 * 86400
    os.utime(stale, (long_ago, long_ago))
    assert sweep_stale(tmp_path) == [stale] and not stale.exists()
