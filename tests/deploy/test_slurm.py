"""deploy/slurm/worker.sbatch on a real SLURM: a study as a job array of 3 workers, one cancelled mid-trial.

`.ci/run` starts a single-node SLURM on 127.0.0.1 (`.ci/slurm-up`: slurmctld, slurmd, munge, and
slurmdbd so that `sacct` answers) and PostgreSQL, and sets MAMMOSEARCH_TEST_SLURM and
MAMMOSEARCH_TEST_POSTGRES; without them this test is skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest

from conftest import REPO, TINY_SPACE
from mammosearch.search.study import finished_trials

optuna.logging.set_verbosity(optuna.logging.ERROR)
BIN = Path(sys.executable).parent
POSTGRES = os.environ.get("MAMMOSEARCH_TEST_POSTGRES")
SCRIPT = REPO / "deploy" / "slurm" / "worker.sbatch"
N_TRIALS = 5
RUNNING = optuna.trial.TrialState.RUNNING


def _why_not() -> str | None:
    if os.environ.get("MAMMOSEARCH_TEST_SLURM") != "1":
        return "MAMMOSEARCH_TEST_SLURM is not set (.ci/run starts a single-node SLURM with .ci/slurm-up and sets it)"
    if not POSTGRES:
        return "MAMMOSEARCH_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)"
    for command in (["scontrol", "ping"], ["sacct", "-n", "-X", "-S", "now"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{' '.join(command)}` did not answer: {type(exc).__name__}"
        if done.returncode != 0 or (command[0] == "scontrol" and "UP" not in done.stdout):
            return f"`{' '.join(command)}` failed: {(done.stderr or done.stdout).strip()[:200]} (run .ci/slurm-up as root)"
    try:
        import sqlalchemy

        with sqlalchemy.create_engine(POSTGRES).connect():
            return None
    except Exception as exc:
        return f"PostgreSQL at {POSTGRES.split('@')[-1]} is not reachable: {type(exc).__name__}"


def _squeue(job: str) -> dict[str, str]:
    """Array task id -> state, for the tasks of ``job`` still known to slurmctld."""
    out = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%i %T"], capture_output=True, text=True, timeout=20).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def _trials(name: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=POSTGRES).get_trials(deepcopy=False)
    except KeyError:
        return []


@pytest.mark.slow
@pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
def test_a_job_array_of_workers_survives_a_cancelled_task(tmp_path):
    assert POSTGRES is not None
    name = f"slurm-{uuid.uuid4().hex[:8]}"
    results = tmp_path / "results"
    space = tmp_path / "space.yaml"
    # Trials long enough (40 epochs) that one can be caught mid-trial.
    space.write_text(TINY_SPACE.replace("n_trials: 3", f"n_trials: {N_TRIALS}").replace("epochs: 2", "epochs: 40").replace("n_images: 96", "n_images: 160"))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    setup = subprocess.run(
        [str(BIN / "mammosearch"), "run", "--space", str(space), "--storage", POSTGRES, "--study", name,
         "--results-dir", str(results), "--heartbeat", "1", "--setup-only"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]

    env.update(MAMMOSEARCH_STORAGE=POSTGRES, MAMMOSEARCH_STUDY=name, MAMMOSEARCH_RESULTS=str(results))
    # The script as shipped; only what this 2-core machine cannot give is overridden, as a lab
    # overrides #SBATCH lines on its own partition.
    submitted = subprocess.run(
        ["sbatch", "--parsable", "--array=0-2", "--cpus-per-task=1", "--mem=2G", "--time=00:20:00",
         f"--output={tmp_path}/task-%A_%a.out", str(SCRIPT)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip().split(";")[0]
    cancelled = None
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            running = [t for t in _trials(name) if t.state == RUNNING and t.intermediate_values]
            tasks = _squeue(job)
            labelled = [t for t in running if str(t.user_attrs.get("worker_label", "")).startswith(f"slurm {job}_")]
            if len(tasks) == 3 and all(state == "RUNNING" for state in tasks.values()) and labelled:
                victim = labelled[0]
                cancelled = str(victim.user_attrs["worker_label"]).split()[-1]
                break
            time.sleep(1)
        else:
            pytest.fail(f"no task of job {job} was ever mid-trial: {_squeue(job)}, trials {[(t.number, t.state.name) for t in _trials(name)]}")
        subprocess.run(["scancel", cancelled], check=True, timeout=30)  # a pre-empted task
        while _squeue(job) and time.time() < deadline + 600:
            time.sleep(2)
        assert not _squeue(job), f"the array did not finish: {_squeue(job)}"
    finally:
        subprocess.run(["scancel", job], capture_output=True, timeout=30)
    outputs = {path.name: path.read_text(errors="replace") for path in tmp_path.glob("task-*.out")}

    trials = _trials(name)
    study = optuna.load_study(study_name=name, storage=POSTGRES)
    assert finished_trials(study) >= N_TRIALS, outputs  # the budget is reached
    assert not [t.number for t in trials if t.state == RUNNING], outputs  # nothing orphaned
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == max(numbers) + 1
    # The cancelled task's trial was failed (by its worker on scancel's SIGTERM, or else by
    # heartbeat; not by the objective) and its parameters re-queued and trained by another task.
    victim_after = next(t for t in trials if t.number == victim.number)
    assert victim_after.state == optuna.trial.TrialState.FAIL and "fail_reason" not in victim_after.user_attrs
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert retried and retried[0].params == victim.params and retried[0].state == optuna.trial.TrialState.COMPLETE
    assert str(retried[0].user_attrs.get("worker_label")) != f"slurm {cancelled}"

    # sacct (slurmdbd's record) shows the three tasks: the cancelled one CANCELLED, the others done.
    accounting = subprocess.run(["sacct", "-n", "-X", "-P", "-j", job, "-o", "JobID,State,ExitCode"], capture_output=True, text=True, timeout=30)
    states = {line.split("|")[0]: line.split("|")[1] for line in accounting.stdout.splitlines() if line.strip()}
    assert set(states) == {f"{job}_0", f"{job}_1", f"{job}_2"}, accounting.stdout
    assert states.pop(cancelled).startswith("CANCELLED") and set(states.values()) == {"COMPLETED"}, accounting.stdout

    # No password in what the tasks printed; report works afterwards, from the shared results.
    assert not any("mammosearch:mammosearch@" in text for text in outputs.values())
    report = subprocess.run(
        [str(BIN / "mammosearch"), "report", "--storage", POSTGRES, "--study", name, "--results-dir", str(results), "--no-html"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    assert f"{name}" in report.stdout and "mammosearch:mammosearch@" not in report.stdout
