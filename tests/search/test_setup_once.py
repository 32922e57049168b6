"""A study is set up once per run; recycled children and --workers processes only open it.

Counted at process level: each set-up execution appends a line to the file named by
MAMMOSEARCH_SETUP_LOG, which every child and worker inherits, so a second set-up anywhere
in the run would show as a second line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.config import parse_space
from mammosearch.errors import MammosearchError
from mammosearch.search import RunOptions, open_prepared, run_study, setup_study
from mammosearch.search.study import SETUP_LOG_ENV

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow
EXE = str(Path(sys.executable).parent / "mammosearch")


def _setups(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_recycled_run_sets_the_study_up_once_in_the_coordinating_process(tmp_path, monkeypatch):
    log = tmp_path / "setups.log"
    monkeypatch.setenv(SETUP_LOG_ENV, str(log))
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'r.db'}", results_dir=tmp_path / "results", trials_per_process=1)
    summary = run_study(parse_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 2")), options)
    assert summary.finished_trials == 2
    trials = optuna.load_study(study_name="tiny", storage=options.storage_url).trials
    assert len({t.user_attrs["process"] for t in trials}) == 2  # two children trained
    assert _setups(log) == [f"{os.getpid()} tiny"]  # ... and neither set the study up again


def test_two_workers_and_their_recycled_children_open_the_study_their_run_set_up_once(tmp_path):
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE.replace("n_trials: 3", "n_trials: 2"))
    log = tmp_path / "setups.log"
    env = {**os.environ, SETUP_LOG_ENV: str(log)}
    # Each worker's share (2) is longer than --trials-per-process: the workers train in recycled children too.
    command = [EXE, "run", "--space", str(space), "--workers", "2", "--trials-per-process", "1"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert len(_setups(log)) == 1, _setups(log)
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'results' / 'mammosearch.db'}")
    workers = {t.user_attrs.get("worker") for t in study.trials}
    assert workers <= {0, 1} and len(study.trials) >= 2
    assert len({t.user_attrs["process"] for t in study.trials}) == len(study.trials)  # one child per trial
    logs = sorted((tmp_path / "results" / "tiny" / "workers").glob("worker-*.log"))
    assert len(logs) == 2 and any("trial 0 " in log.read_text() or "trial 1 " in log.read_text() for log in logs)


def test_a_training_process_refuses_a_study_that_was_never_set_up(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="tiny", storage=storage)  # exists, but no set-up recorded
    options = RunOptions(storage_url=storage, results_dir=tmp_path / "results")
    with pytest.raises(MammosearchError, match="never set up"):
        open_prepared(parse_space(TINY_SPACE), options)
    with pytest.raises(MammosearchError, match="not in"):
        open_prepared(parse_space(TINY_SPACE.replace("name: tiny", "name: other")), options)


def test_opening_finds_what_set_up_recorded_and_refuses_other_data(tmp_path, monkeypatch):
    log = tmp_path / "setups.log"
    monkeypatch.setenv(SETUP_LOG_ENV, str(log))
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 's.db'}", results_dir=tmp_path / "results")
    space = parse_space(TINY_SPACE)
    prepared = setup_study(space, options)
    opened = open_prepared(space, options)
    assert len(_setups(log)) == 1  # opening set nothing up
    assert opened.images.data_key == prepared.images.data_key and opened.finished_before == 0
    assert opened.fingerprint == prepared.fingerprint  # read back from the study folder, not recomputed
    with pytest.raises(MammosearchError, match="data changed"):
        open_prepared(parse_space(TINY_SPACE.replace("n_images: 96", "n_images: 64")), options)
