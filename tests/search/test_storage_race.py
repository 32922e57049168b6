"""Processes that open the same new SQLite storage, or create the same new study, at once: no schema race, one space."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import subprocess
import sys
import threading
import time

import optuna
import pytest

import mammosearch.store  # noqa: F401  (imported before the fork: the processes start level)
from conftest import TINY_SPACE

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def _open(url: str, results: multiprocessing.Queue, start: multiprocessing.synchronize.Barrier) -> None:
    from mammosearch.store import open_storage

    start.wait(timeout=60)  # all at once: the collision is what is tested
    try:
        open_storage(url)
        results.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        results.put(repr(exc))


def test_several_processes_creating_one_new_database_all_open_it(tmp_path):
    context = multiprocessing.get_context("fork")
    outcomes = []
    for round_ in range(10):  # the collision is timing-dependent: several rounds of 4 at once
        url = f"sqlite:///{tmp_path / f'round{round_}.db'}"
        queue, start = context.Queue(), context.Barrier(4)
        processes = [context.Process(target=_open, args=(url, queue, start)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        outcomes += [queue.get(timeout=10) for _ in processes]
    assert outcomes == ["ok"] * 40, [o for o in outcomes if o != "ok"]


# --- one space per study, decided in the storage -------------------------------------------

# Each process loads its data and its fingerprint (the last step before the study is
# opened), then waits at the barrier file: both reach the study at once.
RELEASED_TOGETHER = """
import sys, time
from pathlib import Path
import mammosearch.search.study as study_module

ready, barrier, argv = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
computed = study_module.cached_fingerprint

def fingerprint_then_wait(*args, **kwargs):
    fingerprint = computed(*args, **kwargs)
    ready.touch()
    while not barrier.exists():
        time.sleep(0.002)
    return fingerprint

study_module.cached_fingerprint = fingerprint_then_wait
from mammosearch.cli import app
app(argv, prog_name="mammosearch")
"""


def _options(tmp_path, **changes):
    from mammosearch.search import RunOptions

    return RunOptions(storage_url=f"sqlite:///{tmp_path / 's.db'}", results_dir=tmp_path / "r", **changes)


def test_the_run_that_creates_a_study_records_its_space_and_another_space_is_refused(tmp_path):
    from mammosearch.config import parse_space
    from mammosearch.errors import SpaceError
    from mammosearch.search._space_check import settle_space

    first = settle_space(parse_space(TINY_SPACE), _options(tmp_path), "tiny")
    assert first.recorded == first.current and not first.changes
    attrs = optuna.load_study(study_name="tiny", storage=_options(tmp_path).storage_url).user_attrs
    assert attrs["search_space"]["training.epochs"] == "2"
    assert not settle_space(parse_space(TINY_SPACE), _options(tmp_path), "tiny").changes
    with pytest.raises(SpaceError, match="was run with another search space"):
        settle_space(parse_space(TINY_SPACE.replace("epochs: 2", "epochs: 1")), _options(tmp_path), "tiny")
    extended = settle_space(parse_space(TINY_SPACE.replace("epochs: 2", "epochs: 1")), _options(tmp_path, extend_space=True), "tiny")
    assert extended.changes == ("training.epochs: 2 -> 1",)


def test_a_run_finding_a_study_just_created_by_another_waits_for_its_space(tmp_path):
    """The creator records its space a moment after creating the study; the other run must not slip in between."""
    from mammosearch.config import parse_space
    from mammosearch.errors import SpaceError
    from mammosearch.search._space_check import canonical_space, settle_space
    from mammosearch.store.record import save_search_space

    url = _options(tmp_path).storage_url
    study = optuna.create_study(storage=url, study_name="tiny")  # created, space not recorded yet

    def record_later() -> None:
        time.sleep(0.5)
        save_search_space(study, canonical_space(parse_space(TINY_SPACE)), None)

    creator = threading.Thread(target=record_later)
    creator.start()
    try:
        with pytest.raises(SpaceError, match="training.epochs: 2 -> 1"):
            settle_space(parse_space(TINY_SPACE.replace("epochs: 2", "epochs: 1")), _options(tmp_path), "tiny")
    finally:
        creator.join()


def test_two_runs_released_together_on_a_new_study_with_different_spaces_one_runs_one_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.db'}"
    barrier = tmp_path / "go"
    spaces = {}
    for epochs in (1, 2):
        spaces[epochs] = tmp_path / f"epochs{epochs}.yaml"
        spaces[epochs].write_text(TINY_SPACE.replace("epochs: 2", f"epochs: {epochs}").replace("n_trials: 3", "n_trials: 1"), encoding="utf-8")
    processes = {
        epochs: subprocess.Popen(
            [sys.executable, "-c", RELEASED_TOGETHER, str(tmp_path / f"ready{epochs}"), str(barrier),
             "run", "--space", str(path), "--storage", url, "--results-dir", str(tmp_path / "results")],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for epochs, path in spaces.items()
    }
    try:
        deadline = time.time() + 300
        while not all((tmp_path / f"ready{epochs}").exists() for epochs in spaces):
            assert time.time() < deadline and all(p.poll() is None for p in processes.values()), "a run stopped before the barrier"
            time.sleep(0.05)
        barrier.touch()
        outputs = {epochs: process.communicate(timeout=600)[0] for epochs, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    codes = {epochs: process.returncode for epochs, process in processes.items()}
    assert sorted(codes.values()) == [0, 2], outputs
    winner = next(epochs for epochs, code in codes.items() if code == 0)
    loser = outputs[3 - winner]
    assert "was run with another search space" in loser and "Traceback" not in loser, loser
    study = optuna.load_study(study_name="tiny", storage=url)
    assert study.user_attrs["search_space"]["training.epochs"] == str(winner)
    assert "space_extensions" not in study.user_attrs
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 1 and trials[0].user_attrs["epochs_trained"] == winner
