"""Long runs train in recycled child processes; the study, progress and results are the same."""

from __future__ import annotations

import json
import os
import signal

import optuna
import pytest

from conftest import TINY_SPACE, TINY_TRANSFER_SPACE, trial_progress
from mammosearch.config import parse_space
from mammosearch.search import RunOptions, run_study
from mammosearch.store import load_study

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


class Recorder:
    def __init__(self) -> None:
        self.started: list[int] = []
        self.ended: list[int] = []
        self.epochs = 0

    def on_study_start(self, *args, **kwargs) -> None: ...

    def on_trial_start(self, number, params) -> None:
        assert params.family == "cnn"
        self.started.append(number)

    def on_epoch(self, epoch, total, logs) -> None:
        self.epochs += 1

    def on_trial_end(self, trial) -> None:
        self.ended.append(trial.number)


def test_trials_run_in_recycled_processes_and_report_back(tmp_path):
    recorder = Recorder()
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'r.db'}", results_dir=tmp_path / "results", trials_per_process=2)
    summary = run_study(parse_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 5")), options, recorder)
    assert summary.finished_trials == 5 and summary.new_trials == 5
    assert recorder.started == recorder.ended == [0, 1, 2, 3, 4]  # events crossed the process boundary
    assert recorder.epochs == 10
    record = load_study(options.storage_url, "tiny")
    assert [r.state for r in record.rows] == ["complete"] * 5
    assert sum(r.model_path is not None for r in record.rows) == 2  # keep_top_k across processes


def test_the_coordinating_process_never_loads_tensorflow(tmp_path):
    """With recycling, only the training children import TensorFlow (start-up time and memory)."""
    import subprocess
    import sys

    script = f"""
import sys
from pathlib import Path
from mammosearch.config.reader import parse_space
from mammosearch.search.options import RunOptions
from mammosearch.search.run import run_study

space = parse_space({TINY_SPACE.replace("n_trials: 3", "n_trials: 2")!r})
options = RunOptions(storage_url={f"sqlite:///{tmp_path / 'p.db'}"!r}, results_dir=Path({str(tmp_path / 'results')!r}), trials_per_process=1)
summary = run_study(space, options)
assert summary.finished_trials == 2, summary
print("runtime:", summary.runtime)
print("loaded:", sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "loaded: []" in proc.stdout
    assert "runtime: keras" in proc.stdout  # the children's runtime line reaches the summary


def test_the_last_child_assembles_the_kept_heads_of_every_child(tmp_path):
    """Kept heads are assembled into full models once, by the last child, not at every hand-over."""
    from pathlib import Path

    space = parse_space(TINY_TRANSFER_SPACE.replace("n_trials: 2", "n_trials: 4").replace("keep_top_k: 1", "keep_top_k: 4"))
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'a.db'}", results_dir=tmp_path / "results", trials_per_process=2)
    assert run_study(space, options).finished_trials == 4
    trials = optuna.load_study(study_name="tiny_transfer", storage=options.storage_url).trials
    assert {t.user_attrs["training_path"] for t in trials} == {"cached activations"}
    last_trial_end = max(t.datetime_complete.timestamp() for t in trials)
    for trial in trials:  # all four kept: trials 0-1 by the first child, 2-3 by the last
        model = Path(trial.user_attrs["model_path"])
        assert model.is_file() and not (model.parent / "head.weights.h5").exists()
        # Written after the last trial: the first child left its heads to the last one.
        assert model.stat().st_mtime >= last_trial_end


def _interrupt_a_recycled_run(tmp_path, send_sigint) -> tuple[int, str, str]:
    """Start a recycled run, call ``send_sigint(process)`` once a trial is training; (exit code, stdout, stderr)."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE.replace("n_trials: 3", "n_trials: 6").replace("epochs: 2", "epochs: 40"))
    exe = str(Path(sys.executable).parent / "mammosearch")
    # Output to files, not pipes: nothing reads a pipe while the test waits, and a full pipe
    # would block the run. Its own process group, so a signal to the group reaches the parent
    # and its children as a terminal's Ctrl-C does.
    out_file, err_file = (tmp_path / "out.txt").open("w"), (tmp_path / "err.txt").open("w")
    proc = subprocess.Popen([exe, "run", "--space", str(space), "--trials-per-process", "2"], cwd=tmp_path,
                            stdout=out_file, stderr=err_file, text=True, start_new_session=True)
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            if trial_progress(tmp_path / "results" / "mammosearch.db")[1] >= 1:  # a trial is training
                break
            if proc.poll() is not None:
                raise AssertionError(f"the run ended before it was interrupted: {(tmp_path / 'err.txt').read_text()[-2000:]}")
            time.sleep(0.3)
        else:
            raise AssertionError(f"no trial started training: {(tmp_path / 'err.txt').read_text()[-2000:]}")
        send_sigint(proc)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        out_file.close()
        err_file.close()
    return proc.returncode, (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()


INTERRUPTED = ["interrupted: finished trials are kept; run the same command again to resume."]


def test_ctrl_c_during_a_recycled_run_prints_one_line_and_no_traceback(tmp_path):
    code, out, err = _interrupt_a_recycled_run(tmp_path, lambda proc: os.killpg(proc.pid, signal.SIGINT))
    assert code == 130, err[-2000:]
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err, err[-2000:]
    assert [line for line in err.splitlines() if line.strip()] == INTERRUPTED, err[-2000:]


def test_ctrl_c_that_only_the_training_child_saw_is_an_interruption_too(tmp_path):
    """The parent ignores Ctrl-C while it starts a standby child (so the new interpreter does not
    print a traceback from its imports); a Ctrl-C then reaches only the training child, which
    exits 130. That is the user interrupting the run, not a trial process failing (exit 1)."""
    import sqlite3

    def sigint_the_training_child(proc) -> None:
        with sqlite3.connect(f"file:{tmp_path / 'results' / 'mammosearch.db'}?mode=ro", uri=True, timeout=5) as connection:
            (stamp,) = connection.execute(
                "SELECT a.value_json FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id "
                "WHERE t.state = 'RUNNING' AND a.key = 'process'").fetchone()
        pid = int(json.loads(stamp).rsplit(":", 1)[1])  # host:pid of the process training the trial
        assert pid != proc.pid  # a recycled child, not the coordinating process
        os.kill(pid, signal.SIGINT)

    code, out, err = _interrupt_a_recycled_run(tmp_path, sigint_the_training_child)
    assert code == 130, err[-2000:]
    assert "Traceback" not in out + err, err[-2000:]
    assert [line for line in err.splitlines() if line.strip()] == INTERRUPTED, err[-2000:]
