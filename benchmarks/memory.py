"""Resident memory over a long study: RSS after 5 and after 50 short trials in one process.

    python benchmarks/memory.py

Target: the growth from trial 5 to trial 50 stays under 300 MB (Keras and Optuna
have both been reported to leak across trials; each trial here clears the Keras session).
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


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import optuna

    from mammosearch.space import parse_space
    from mammosearch.study import RunOptions, run_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    process = psutil.Process()
    samples: dict[int, float] = {}

    class Recorder:
        def on_study_start(self, *args, **kwargs) -> None: ...
        def on_trial_start(self, *args, **kwargs) -> None: ...
        def on_epoch(self, *args, **kwargs) -> None: ...

        def on_trial_end(self, trial) -> None:
            samples[trial.number + 1] = process.memory_info().rss / 2**20

    with tempfile.TemporaryDirectory() as folder:
        options = RunOptions(storage_url=f"sqlite:///{Path(folder) / 'm.db'}", results_dir=Path(folder) / "results")
        run_study(parse_space(SPACE), options, Recorder())  # type: ignore[arg-type]
    for n in (1, 5, 10, 20, 30, 40, 50):
        print(f"RSS after {n:2d} trials: {samples[n]:7.1f} MB")
    print(f"growth from trial 5 to trial 50: {samples[50] - samples[5]:+.1f} MB (target < 300 MB)")


if __name__ == "__main__":
    main()
