"""SIGTERM (scancel, pre-emption, a Kubernetes pod's stop) fails the worker's running trial at once and re-queues its parameters.

A real `mammosearch worker` on a journal file, a real (tiny, slowed) Keras trial: SIGTERM
arrives mid-trial. Without a handler Python would die on the spot and leave the trial
RUNNING until another worker's heartbeat check, two intervals later. Instead the trial is
FAIL (not counted against the budget), a WAITING copy holds its parameters for the next
worker, nothing is RUNNING, and the worker exits 143 so a scheduler sees it was stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from conftest import TINY_SPACE
from mammosearch.store.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.ERROR)
EXE = str(Path(sys.executable).parent / "mammosearch")
# Many epochs: the signal lands inside a trial.
SLOW = TINY_SPACE.replace("epochs: 2", "epochs: 40").replace("n_images: 96", "n_images: 160")
State = optuna.trial.TrialState


def _trials(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name="tiny", storage=open_storage(url, create=False)).get_trials(deepcopy=False)
    except Exception:  # not set up yet
        return []


# "recycled": the worker only coordinates and a child trains (SIGTERM reaches the worker alone,
# as a pod's stop reaches only its first process: it passes it on); "in-process": the worker trains.
@pytest.mark.slow
@pytest.mark.parametrize("per_process", ["1", "0"], ids=["recycled", "in-process"])
def test_sigterm_mid_trial_fails_the_trial_requeues_its_parameters_and_exits_143(tmp_path, per_process):
    url = f"journal:///{tmp_path / 'shared' / 'studies.log'}"
    space = tmp_path / "tiny.yaml"
    space.write_text(SLOW)
    setup = subprocess.run([EXE, "run", "--space", str(space), "--storage", url, "--setup-only", "--trials-per-process", per_process],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    worker = subprocess.Popen([EXE, "worker", "--study", "tiny"], cwd=tmp_path, env={**os.environ, "MAMMOSEARCH_STORAGE": url},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 300
        while not any(t.state == State.RUNNING and len(t.intermediate_values) >= 2 for t in _trials(url)):
            assert worker.poll() is None, worker.communicate()[0][-3000:]
            assert time.time() < deadline, "no trial ever reached its second epoch"
            time.sleep(0.3)
        worker.send_signal(signal.SIGTERM)  # to the worker alone
        output, _ = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 143, output[-3000:]
    trials = _trials(url)
    [stopped] = [t for t in trials if t.state == State.FAIL]
    assert "fail_reason" not in stopped.user_attrs  # not the objective's failure: it does not count against the budget
    assert f"stopped by SIGTERM: trial {stopped.number} was failed and its parameters queued again" in " ".join(output.split())
    assert "Traceback" not in output
    [queued] = [t for t in trials if t.state == State.WAITING]
    assert queued.system_attrs["failed_trial"] == stopped.number and queued.params == stopped.params
    assert not [t for t in trials if t.state == State.RUNNING]
