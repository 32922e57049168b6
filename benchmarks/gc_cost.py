"""What one full garbage collection costs once TensorFlow is loaded, before and after gc.freeze.

    python benchmarks/gc_cost.py

Every trial runs full collections (Keras' ``clear_session(free_memory=True)`` and Optuna's
``gc_after_trial``); ``runtime.freeze_long_lived_objects`` freezes what is alive when a
study starts. This prints the median time of a full collection in both states.
"""

from __future__ import annotations

import gc
import statistics
import time


def median_collect_seconds(repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from mammosearch import runtime

    runtime.configure()
    import keras

    # A model built and dropped, as a trial leaves behind.
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(64, 64, 3))
    keras.backend.clear_session()
    tracked = len(gc.get_objects())
    before = median_collect_seconds()
    runtime.freeze_long_lived_objects()
    after = median_collect_seconds()
    print(f"objects tracked by the collector after importing TensorFlow: {tracked:,}")
    print(f"full collection: {before * 1000:.0f} ms before gc.freeze, {after * 1000:.1f} ms after")


if __name__ == "__main__":
    main()
