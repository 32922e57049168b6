"""`mammosearch worker` joins a study that `run --setup-only` prepared, as a cluster's workers do.

Real processes, a real SQLite or journal storage, real (tiny) Keras trials: workers started
before the set-up wait for it; the set-up runs once; workers share the budget, record who
ran each trial, and exit 0 when nothing is left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from conftest import REPO, TINY_SPACE, skip_if_its_weights_are_absent
from mammosearch.config import load_space, parse_space, space_from_json, space_to_json
from mammosearch.errors import SpaceError
from mammosearch.search._identity import take_one_gpu, worker_label
from mammosearch.search.study import SETUP_LOG_ENV
from mammosearch.store.record import stamp_of

optuna.logging.set_verbosity(optuna.logging.ERROR)
EXE = str(Path(sys.executable).parent / "mammosearch")


@pytest.mark.parametrize("path", sorted((REPO / "search_spaces").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_space_comes_back_equal_from_its_json_record(path):
    skip_if_its_weights_are_absent(path)
    space = load_space(path)
    assert space_from_json(json.loads(json.dumps(space_to_json(space)))) == space


def test_a_record_of_another_version_is_one_clear_error():
    record = space_to_json(parse_space(TINY_SPACE))
    with pytest.raises(SpaceError, match="format"):
        space_from_json({**record, "format": 99})
    record["space"]["study"]["$type"] = "Popen"  # not a class a space is made of: never constructed
    with pytest.raises(SpaceError, match="unknown part 'Popen'"):
        space_from_json(record)


def test_the_worker_label_comes_from_the_scheduler():
    assert worker_label({"SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "2", "SLURM_JOB_ID": "79"}) == "slurm 77_2"
    assert worker_label({"JOB_COMPLETION_INDEX": "5"}) == "k8s 5"
    assert worker_label({"MAMMOSEARCH_WORKER": "1"}) == "worker 1"
    assert worker_label({}) == f"pid {os.getpid()}"


def test_a_worker_keeps_one_of_several_visible_gpus_by_its_slot(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    env = {"SLURM_LOCALID": "4"}
    assert take_one_gpu(env) == "1" and env["CUDA_VISIBLE_DEVICES"] == "1"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert take_one_gpu({}) is None  # no GPU visible: the CPU


def _worker(tmp_path: Path, storage: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    # From another folder than the set-up's: everything comes from the storage and the recorded results folder.
    elsewhere = tmp_path / "node"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.Popen([EXE, "worker", "--study", "tiny", *extra], cwd=elsewhere, env={**os.environ, "MAMMOSEARCH_STORAGE": storage, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _setup(tmp_path: Path, storage: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE)
    command = [EXE, "run", "--space", str(space), "--storage", storage, "--setup-only", *extra]
    return subprocess.run(command, cwd=tmp_path, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_workers_started_before_the_set_up_wait_for_it_share_the_budget_and_the_next_finds_nothing_left(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    log = tmp_path / "setups.log"
    env = {SETUP_LOG_ENV: str(log)}
    workers = [_worker(tmp_path, storage, "--wait-setup", "300", env={**env, "SLURM_ARRAY_JOB_ID": "9", "SLURM_ARRAY_TASK_ID": str(i)}) for i in range(2)]
    setup = _setup(tmp_path, storage, env=env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert f"mammosearch worker --study tiny --storage {storage} --results-dir {tmp_path / 'results'}" in setup.stdout
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    assert any("waiting up to 300 s for study 'tiny'" in out for out in outputs)  # at least one was there before the set-up
    assert len(log.read_text().splitlines()) == 1  # the set-up ran once, in `run --setup-only`, never in a worker
    trials = optuna.load_study(study_name="tiny", storage=storage).trials
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 3 <= len(complete) <= 4  # the budget is shared; a trial in flight may finish past it
    stamps = [stamp_of(t.user_attrs) for t in trials]
    assert all(s is not None for s in stamps)
    assert {s.label for s in stamps if s} <= {"slurm 9_0", "slurm 9_1"} and len({s.started for s in stamps if s}) <= 2
    assert all(s.started <= t.datetime_start.timestamp() + 1 for s, t in zip(stamps, trials) if s)
    assert (tmp_path / "results" / "tiny" / "trials").is_dir()  # models kept in the recorded results folder, not the worker's cwd
    late = _worker(tmp_path, storage)
    out, _ = late.communicate(timeout=300)
    assert late.returncode == 0 and "nothing left to do" in out, out
    # The report says who did what: one row per worker, its trials adding up to the study's.
    report = subprocess.run([EXE, "report", "--storage", storage, "--results-dir", str(tmp_path / "results"), "--format", "json"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)["workers"]
    assert {row["worker"] for row in rows} == {s.label for s in stamps if s}
    assert sum(row["trials"] for row in rows) == len(trials) and all(row["busy_s"] > 0 and row["idle_s"] >= 0 for row in rows)
    written = tmp_path / "results" / "tiny" / "report"
    assert len((written / "workers.csv").read_text().splitlines()) == len(rows) + 1
    assert ("Per worker" in (written / "report.html").read_text()) == (len(rows) >= 2)


@pytest.mark.slow
def test_a_recycled_worker_on_a_journal_file_stops_after_its_own_n_trials(tmp_path):
    storage = f"journal:///{tmp_path / 'shared' / 'studies.log'}"
    setup = _setup(tmp_path, storage, "--trials-per-process", "1")
    assert setup.returncode == 0, setup.stdout + setup.stderr
    worker = _worker(tmp_path, storage, "--n-trials", "2")
    out, _ = worker.communicate(timeout=600)
    assert worker.returncode == 0, out
    assert "heartbeat every 60 s" in out  # the journal storage beats too (store/journal_beats.py)
    from mammosearch.store import open_storage

    trials = optuna.load_study(study_name="tiny", storage=open_storage(storage, create=False)).trials
    assert len(trials) == 2  # its own cap, below the study's budget of 3
    assert len({t.user_attrs["process"] for t in trials}) == 2  # one recycled child per trial ...
    assert len({(stamp.label, stamp.started) for t in trials if (stamp := stamp_of(t.user_attrs))}) == 1  # ... one worker
    report = subprocess.run([EXE, "report", "--storage", storage, "--results-dir", str(tmp_path / "results"), "--format", "csv", "--no-html"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0 and len(report.stdout.strip().splitlines()) == 3, report.stdout + report.stderr


def test_a_worker_for_a_study_nobody_sets_up_gives_up_in_one_line(tmp_path):
    worker = _worker(tmp_path, f"sqlite:///{tmp_path / 'none.db'}", "--wait-setup", "0")
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 4
    assert "is not set up (the storage does not exist yet)" in out and "Traceback" not in out
    assert not (tmp_path / "none.db").exists()  # waiting created nothing


def test_setup_only_refuses_workers_in_one_line(tmp_path):
    result = _setup(tmp_path, f"sqlite:///{tmp_path / 's.db'}", "--workers", "2")
    assert result.returncode == 2 and "--setup-only prepares a study" in result.stderr


def _postgres_reachable() -> str | None:
    url = os.environ.get("MAMMOSEARCH_TEST_POSTGRES")
    if not url:
        return "MAMMOSEARCH_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)"
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(url).connect():
            return None
    except Exception as exc:  # no driver, no server, wrong password: all mean "skip"
        return f"PostgreSQL at {url.split('@')[-1]} is not reachable: {type(exc).__name__}"


@pytest.mark.slow
@pytest.mark.skipif(_postgres_reachable() is not None, reason=str(_postgres_reachable()))
def test_postgres_workers_one_killed_mid_trial_its_trial_is_failed_and_retried_by_the_other(tmp_path):
    import signal
    import time
    import uuid

    url = os.environ["MAMMOSEARCH_TEST_POSTGRES"]
    name = f"w-{uuid.uuid4().hex[:8]}"
    space = tmp_path / "slow.yaml"
    space.write_text(TINY_SPACE.replace("n_trials: 3", "n_trials: 3").replace("epochs: 2", "epochs: 30").replace("n_images: 96", "n_images: 160"))
    setup = subprocess.run([EXE, "run", "--space", str(space), "--storage", url, "--study", name, "--heartbeat", "1", "--setup-only"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert ":mammosearch@" not in setup.stdout and ":***@" in setup.stdout  # the printed worker command masks the password
    env = {**os.environ, "MAMMOSEARCH_STORAGE": url}
    workers = [subprocess.Popen([EXE, "worker", "--study", name], cwd=tmp_path, env={**env, "JOB_COMPLETION_INDEX": str(i)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True) for i in range(2)]
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            trials = optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
            if len([t for t in trials if t.state == optuna.trial.TrialState.RUNNING and t.intermediate_values]) >= 2:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("two trials never ran at the same time")
        os.killpg(workers[0].pid, signal.SIGKILL)  # a pre-empted node, a scancel'd task
        workers[0].wait(timeout=30)
        output, _ = workers[1].communicate(timeout=900)
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
    assert workers[1].returncode == 0, output[-2000:]
    assert "heartbeat every 1 s" in output and ":mammosearch@" not in output
    trials = optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    stale = [t for t in trials if t.state == optuna.trial.TrialState.FAIL and "fail_reason" not in t.user_attrs]
    assert len(stale) == 1 and stamp_of(stale[0].user_attrs).label == "k8s 0"
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == stale[0].number]
    assert retried and retried[0].params == stale[0].params and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert stamp_of(retried[0].user_attrs).label == "k8s 1"  # the survivor re-ran the killed worker's parameters
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    assert len([t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]) >= 3
