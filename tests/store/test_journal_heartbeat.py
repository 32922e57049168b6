"""A journal file has heartbeats: the trial of a worker killed with SIGKILL is failed and its parameters run again.

Real processes on a real journal file, Optuna only (no Keras): seconds. The worker's
objective sleeps; the test kills it with SIGKILL mid-trial, and the next ``study.optimize``
of another process, past the grace period, fails the silent trial and runs its parameters
again, while a live worker's trial is never taken for dead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest

from mammosearch.store import open_storage
from mammosearch.store._journal_beats import beats_dir

optuna.logging.set_verbosity(optuna.logging.ERROR)
pytestmark = [pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"), pytest.mark.filterwarnings("ignore:Heartbeat of storage")]
RUNNING = optuna.trial.TrialState.RUNNING

# A worker with a 1 s heartbeat (grace period: 2 s) whose one trial draws x and then sleeps.
SLEEPER = textwrap.dedent("""
    import sys, time
    import optuna
    from mammosearch.store.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="s", storage=open_storage(sys.argv[1], heartbeat=1), load_if_exists=True)

    def objective(trial):
        trial.suggest_float("x", 0.0, 1.0)
        time.sleep(600)
        return 0.0

    study.optimize(objective, n_trials=1)
""")


def _running(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        study = optuna.load_study(study_name="s", storage=open_storage(url, create=False))
    except Exception:  # the worker has not created the journal or the study yet
        return []
    return study.get_trials(deepcopy=False, states=(RUNNING,))


def test_a_killed_workers_trial_is_failed_and_its_parameters_rerun_while_a_live_ones_is_left_alone(tmp_path):
    journal = tmp_path / "shared" / "studies.log"
    url = f"journal:///{journal}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen([sys.executable, "-c", SLEEPER, url], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        # Its objective has drawn x (the journal's last line a trial writes before it sleeps) and its beat file is there.
        while not any("x" in trial.params for trial in _running(url)) or not any(beats_dir(journal).glob("trial-*")):
            assert worker.poll() is None, worker.communicate()[0]
            assert time.time() < deadline, "the worker never started its trial"
            time.sleep(0.2)
        study = optuna.load_study(study_name="s", storage=open_storage(url, heartbeat=1))
        lines = len(journal.read_text().splitlines())
        time.sleep(3)  # past the grace period: a live worker's beats are fresh all the same
        assert len(journal.read_text().splitlines()) == lines  # beats are file times: the journal every process replays does not grow
        optuna.storages.fail_stale_trials(study)
        [alive] = study.get_trials(deepcopy=False, states=(RUNNING,))
        os.kill(worker.pid, signal.SIGKILL)  # a pre-empted node
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    time.sleep(3)  # its beat is now older than the grace period
    study = optuna.load_study(study_name="s", storage=open_storage(url, heartbeat=1))
    study.optimize(lambda trial: trial.suggest_float("x", 0.0, 1.0), n_trials=1)  # the next worker's first trial
    trials = study.get_trials(deepcopy=False)
    killed = trials[alive.number]
    assert killed.state == optuna.trial.TrialState.FAIL
    [retried] = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert retried.params == killed.params and retried.value == killed.params["x"]  # the same parameters, run again
    assert not [t for t in trials if t.state == RUNNING]
    assert not list(beats_dir(journal).glob("trial-*"))  # finished trials leave no beat files


def test_without_heartbeat_the_journal_storage_is_optunas_own(tmp_path):
    storage = open_storage(f"journal:///{tmp_path / 'j.log'}", heartbeat=None)
    assert type(storage) is optuna.storages.JournalStorage and not beats_dir(tmp_path / "j.log").exists()


def test_two_workers_failing_one_silent_trial_at_once_queue_its_parameters_once(tmp_path):
    url = f"journal:///{tmp_path / 'j.log'}"
    study = optuna.create_study(study_name="s", storage=open_storage(url, heartbeat=1))
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    study._storage.record_heartbeat(trial._trial_id)
    os.utime(beats_dir(tmp_path / "j.log") / f"trial-{trial._trial_id}", (0, 0))  # silent since 1970
    first, second = (optuna.load_study(study_name="s", storage=open_storage(url, heartbeat=1)) for _ in range(2))
    # Both find it silent before either writes (the race two sweeping workers can meet)...
    assert first._storage._get_stale_trial_ids(first._study_id) == second._storage._get_stale_trial_ids(second._study_id) == [trial._trial_id]
    assert first._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    # ... and the journal's order tells the second it was too late, so fail_stale_trials queues no second copy.
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        second._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
