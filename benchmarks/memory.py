"""Resident memory over a long study: RSS after 5 and after 50 short trials.

    python benchmarks/memory.py

Measured twice: with every trial in one process (`--trials-per-process 0`), which shows
what TensorFlow keeps per traced model, and with the default recycling of the training
process every `RunOptions.trials_per_process` trials. RSS is that of the whole process tree (the parent and its
training child). Target: growth from trial 5 to trial 50 under 300 MB.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import psutil

SPACE = """
study: {name: memory, sampler: random, pruner: none, n_trials: 50, seed: 0, keep_top_k: 2}
data: {source: synthetic, n_images: 64, image_size: 32}
model: {families: [cnn], cnn: {filters: [4, 8], dense_units: 16}}
training: {epochs: 1, batch_size: 16}
"""


def tree_rss_mb() -> float:
    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def measure(trials_per_process: int | None) -> dict[int, float]:
    from mammosearch.config import parse_space
    from mammosearch.search import RunOptions, run_study

    samples: dict[int, float] = {}

    class Recorder:
        def on_study_start(self, *args, **kwargs) -> None: ...
        def on_trial_start(self, *args, **kwargs) -> None: ...
        def on_epoch(self, *args, **kwargs) -> None: ...

        def on_trial_end(self, trial) -> None:
            samples[trial.number + 1] = tree_rss_mb()

    with tempfile.TemporaryDirectory() as folder:
        options = RunOptions(storage_url=f"sqlite:///{Path(folder) / 'm.db'}", results_dir=Path(folder) / "results", trials_per_process=trials_per_process)
        run_study(parse_space(SPACE), options, Recorder())  # type: ignore[arg-type]
    return samples


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from mammosearch.search import RunOptions

    default = RunOptions.trials_per_process
    for label, per_process in (("all trials in one process", None), (f"training process recycled every {default} trials (default)", default)):
        samples = measure(per_process)
        print(f"{label}:")
        print("  " + ", ".join(f"after {n}: {samples[n]:.0f} MB" for n in (1, 5, 10, 20, 30, 40, 50)))
        print(f"  growth from trial 5 to trial 50: {samples[50] - samples[5]:+.1f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
