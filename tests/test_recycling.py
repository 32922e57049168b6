"""Long runs train in recycled child processes; the study, progress and results are the same."""

from __future__ import annotations

import optuna

from mammosearch.results import load_study
from mammosearch.space import parse_space
from mammosearch.study import RunOptions, run_study

from conftest import TINY_SPACE, TINY_TRANSFER_SPACE

optuna.logging.set_verbosity(optuna.logging.ERROR)


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
from mammosearch.space import parse_space
from mammosearch.study import RunOptions, run_study
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
