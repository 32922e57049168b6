"""Several worker processes on one study: SQLite on one machine, PostgreSQL across machines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.search.seeding import trial_seed
from mammosearch.store import record

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow
EXE = str(Path(sys.executable).parent / "mammosearch")
POSTGRES = os.environ.get("MAMMOSEARCH_TEST_POSTGRES")


def _postgres_reachable() -> str | None:
    if not POSTGRES:
        return "MAMMOSEARCH_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)"
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(POSTGRES).connect():
            return None
    except Exception as exc:  # no driver, no server, wrong password: all mean "skip"
        return f"PostgreSQL at {POSTGRES.split('@')[-1]} is not reachable: {type(exc).__name__}"


def test_two_workers_share_one_sqlite_study_without_lock_errors(tmp_path):
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE.replace("n_trials: 3", "n_trials: 4"))
    result = subprocess.run([EXE, "run", "--space", str(space), "--workers", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'results' / 'mammosearch.db'}")
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 4 <= len(complete) <= 5  # the budget is shared; a trial in flight may finish past it
    logs = list((tmp_path / "results" / "tiny" / "workers").glob("worker-*.log"))
    assert len(logs) == 2 and not any("database is locked" in log.read_text() for log in logs)
    # Each trial drew its point with a seed of its own (study seed and trial number), recorded
    # with the worker that ran it: the two workers explored different start-up points.
    params = [json.dumps(t.params, sort_keys=True) for t in study.trials]
    assert len(set(params)) == len(params), params
    sampling = [record.sampling_of(t.user_attrs) for t in study.trials]
    assert all(s is not None for s in sampling)
    assert [s.sampler_seed for s in sampling] == [trial_seed(1, t.number) for t in study.trials]
    assert {s.worker for s in sampling} == {0, 1} and len({s.process for s in sampling}) == 2


@pytest.mark.skipif(_postgres_reachable() is not None, reason=str(_postgres_reachable()))
def test_postgres_workers_one_killed_mid_trial_and_retried_by_the_other(tmp_path):
    name = f"pg-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "slow.yaml"
    space.write_text(TINY_SPACE.replace("n_trials: 3", "n_trials: 4").replace("epochs: 2", "epochs: 30").replace("n_images: 96", "n_images: 160"))
    command = [EXE, "run", "--space", str(space), "--storage", POSTGRES, "--study", name, "--heartbeat", "1"]
    workers = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        for _ in range(2)
    ]
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                trials = optuna.load_study(study_name=name, storage=POSTGRES).get_trials(deepcopy=False)
            except KeyError:
                trials = []
            running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values]
            if len(running) >= 2:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("two trials never ran at the same time")
        os.killpg(workers[0].pid, signal.SIGKILL)  # a pre-empted node
        workers[0].wait(timeout=30)
        survivor_output, _ = workers[1].communicate(timeout=900)
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    assert workers[1].returncode == 0, survivor_output[-2000:]
    assert "mammosearch:mammosearch@" not in survivor_output and "***" in survivor_output  # the password is masked
    trials = optuna.load_study(study_name=name, storage=POSTGRES).get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == max(numbers) + 1  # no duplicated or lost trial number
    stale = [t for t in trials if t.state == optuna.trial.TrialState.FAIL and "fail_reason" not in t.user_attrs]
    assert len(stale) == 1
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == stale[0].number]
    assert retried and retried[0].params == stale[0].params and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    assert len([t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]) >= 4
