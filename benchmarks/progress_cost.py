"""What reporting progress costs: a stage's ``advance`` without and with a display, and an epoch's batch stage in ``fit``.

    python benchmarks/progress_cost.py --calls 200000 --epochs 20

``advance`` is called once per decoded file, hashed image and extracted batch; the
epoch's batch stage (``trial/epoch_progress.py``) is a Keras callback on every training
step. The fit is a small dense head on 2,048 random 512-wide rows (the shape of a head on
cached activations, where the per-step overhead shows most), timed with and without the
callback, best of 3.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from rich.console import Console

from mammosearch.progress import reporting, stage
from mammosearch.report import StageDisplay


def advance_seconds(calls: int) -> float:
    started = time.perf_counter()
    with stage("bench", calls, "units") as current:
        for _ in range(calls):
            current.advance()
    return time.perf_counter() - started


def fit_seconds(epochs: int, with_progress: bool) -> float:
    import keras

    from mammosearch.trial.fit import EpochProgress

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2048, 512)).astype("float32"), rng.integers(0, 2, 2048).astype("float32")
    best = float("inf")
    for _ in range(3):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((512,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy", steps_per_execution=16)
        callbacks = [EpochProgress(epochs)] if with_progress else []
        started = time.perf_counter()
        model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    bare = advance_seconds(args.calls)
    with reporting(StageDisplay(Console(file=io.StringIO(), force_terminal=False), None)):
        shown = advance_seconds(args.calls)
    print(f"advance, no display:    {bare / args.calls * 1e9:8.0f} ns per call ({args.calls} calls)")
    print(f"advance, plain display: {shown / args.calls * 1e9:8.0f} ns per call")
    without = fit_seconds(args.epochs, False)
    with reporting(StageDisplay(Console(file=io.StringIO(), force_terminal=False), None)):
        with_progress = fit_seconds(args.epochs, True)
    print(f"fit {args.epochs} epochs x 128 steps, no batch stage:   {without:6.2f} s")
    print(f"fit {args.epochs} epochs x 128 steps, with batch stage: {with_progress:6.2f} s ({(with_progress / without - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
