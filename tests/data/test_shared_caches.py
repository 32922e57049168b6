"""Workers sharing a cache folder compute each entry once; a worker killed mid-fill leaves nothing another trusts.

Several real processes are started together on one empty cache (as a cluster's workers
start on a shared file system); each entry's computation appends a line to a log, so a
second computation anywhere shows as a second line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mammosearch
from mammosearch.data.arrays import sweep_stale

SUFFIX = ".filling"  # a partial file's name (data/arrays/_partial.py)
SRC = Path(mammosearch.__file__).resolve().parents[1]
PROCESSES = 4

# Each kind of cache, filled by one process: `compute` logs itself, sleeps (so the others
# arrive while it works), and gives a known array; the process prints what it read back.
CHILD = """
import sys, time
from pathlib import Path
import numpy as np

kind, folder, log, go, pause = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5])
while not go.exists():
    time.sleep(0.01)

def note():
    with open(log, "a") as handle:
        handle.write(f"{kind}\\n")
    print("computing", flush=True)
    time.sleep(pause)

if kind == "decoded":
    from mammosearch.data.arrays import cached

    def compute():
        note()
        return {"images": np.full((6, 8, 8, 1), 9, np.uint8), "labels": np.arange(6)}

    arrays, hit = cached(folder, "entry", compute)
    result = int(arrays["images"].sum() + arrays["labels"].sum())
elif kind == "activations":
    from mammosearch.trial.activations import ActivationCache, ActivationKey

    def compute(path):
        note()
        return np.full((5, 3), 2.5, np.float32)

    key = ActivationKey("vgg16", "none@0", 32, 3, "block5_pool", "pixels")
    result = float(ActivationCache(folder).get(key, compute).sum())
else:
    from mammosearch.data.arrays import stored_or_made

    def fill(out):
        note()
        out[:] = 3

    result = int(stored_or_made(folder / "resized.npy", (4, 4), np.uint8, fill).sum())
print(f"result {result}", flush=True)
"""

EXPECTED = {"decoded": 6 * 64 * 9 + 15, "activations": 37.5, "resized": 48}


def _start(kind: str, folder: Path, log: Path, go: Path, pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen([sys.executable, "-c", CHILD, kind, str(folder), str(log), str(go), str(pause)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _result(output: str) -> float:
    return float(next(line for line in output.splitlines() if line.startswith("result ")).split()[1])


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_processes_started_together_compute_a_cache_entry_once(tmp_path, kind):
    log, go = tmp_path / "computations.log", tmp_path / "go"
    processes = [_start(kind, tmp_path / "cache", log, go, 1.0) for _ in range(PROCESSES)]
    time.sleep(0.5)
    go.touch()  # all of them at once, on an empty cache
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0] * PROCESSES, outputs
    assert log.read_text().splitlines() == [kind]  # computed once, by one of them ...
    assert [_result(out) for out in outputs] == [EXPECTED[kind]] * PROCESSES  # ... and every one read the same entry
    assert not list((tmp_path / "cache").glob(f"*{SUFFIX}"))  # no partial file left


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_a_process_killed_mid_fill_leaves_nothing_trusted_and_the_next_fills_it(tmp_path, kind):
    log, go = tmp_path / "computations.log", tmp_path / "go"
    go.touch()
    killed = _start(kind, tmp_path / "cache", log, go, 60.0)
    assert killed.stdout is not None and killed.stdout.readline().strip() == "computing"
    waiting = _start(kind, tmp_path / "cache", log, go, 0.0)  # blocked on the lock the killed one holds
    time.sleep(1.0)
    assert waiting.poll() is None
    os.killpg(killed.pid, signal.SIGKILL)  # a pre-empted node: no clean-up runs
    killed.wait(timeout=30)
    output, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, output
    assert log.read_text().splitlines() == [kind, kind]  # the killed fill was not trusted: computed again
    assert _result(output) == EXPECTED[kind]
    # The killed one's partial file (if it wrote one) is never read, and is swept once its
    # process is provably gone (here at the latest: it may still have been a zombie a moment ago).
    sweep_stale(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob(f"*{SUFFIX}"))
