"""`kill -9` in the middle of a trial, then the same command again: nothing learned is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from conftest import TINY_SPACE, trial_progress

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

# Slow enough (many epochs) that the kill lands inside a trial.
SLOW = TINY_SPACE.replace("n_trials: 3", "n_trials: 3").replace("epochs: 2", "epochs: 25").replace("n_images: 96", "n_images: 160")


def _trials(storage: str) -> list[optuna.trial.FrozenTrial]:
    if not Path(storage.removeprefix("sqlite:///")).is_file():
        return []  # the run has not created its database yet
    try:
        return optuna.load_study(study_name="tiny", storage=storage).get_trials(deepcopy=False)
    except KeyError:
        return []


def test_kill_minus_nine_mid_trial_then_rerun_keeps_everything_and_retries(tmp_path):
    space = tmp_path / "tiny.yaml"
    space.write_text(SLOW)
    storage = f"sqlite:///{tmp_path / 'results' / 'mammosearch.db'}"
    command = [str(Path(sys.executable).parent / "mammosearch"), "run", "--space", str(space), "--heartbeat", "1"]
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + 600  # generous: CI machines may be busy
    try:
        # Wait for one completed trial and the next one running with a few epochs reported.
        while time.time() < deadline:
            complete, steps = trial_progress(tmp_path / "results" / "mammosearch.db")
            if complete and steps >= 2:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the run never reached a completed and a running trial")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    before = {t.number: (t.value, json.dumps(t.user_attrs, sort_keys=True)) for t in _trials(storage) if t.state == optuna.trial.TrialState.COMPLETE}
    killed = next(t for t in _trials(storage) if t.state == optuna.trial.TrialState.RUNNING)
    report = subprocess.run([command[0], "report", "--no-html"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    # The leftover is named, with what reclaims it.
    said = " ".join(report.stdout.split())
    assert f"1 trial still marked running: {killed.number}" in said and "run the same `mammosearch run` command again" in said, said[-2000:]

    time.sleep(3)  # longer than the grace period (2 heartbeats)
    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-2000:]

    trials = _trials(storage)
    after = {t.number: (t.value, json.dumps(t.user_attrs, sort_keys=True)) for t in trials if t.number in before}
    assert after == before  # completed trials, metrics and all, untouched
    for number in before:
        attrs = json.loads(before[number][1])
        if "model_path" in attrs and Path(attrs["model_path"]).exists():
            assert Path(attrs["model_path"]).stat().st_size > 0
    stale = next(t for t in trials if t.number == killed.number)
    assert stale.state == optuna.trial.TrialState.FAIL
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert retried and retried[0].params == killed.params  # the same parameters, tried again
    counted = [t for t in trials if t.state != optuna.trial.TrialState.FAIL or "fail_reason" in t.user_attrs]
    assert len([t for t in counted if t.state.is_finished()]) == 3  # the study reached n_trials
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
