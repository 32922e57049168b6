"""Process-wide set-up of the Keras backend: quiet logs, CPU threads, GPU memory, precision.

The only module besides ``tensorboard_logging`` that touches ``tf.*``, and only when
TensorFlow is the backend, so the rest of the code runs on JAX or PyTorch via
``KERAS_BACKEND`` unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys

PRECISIONS = ("float32", "mixed")
BACKENDS = ("tensorflow", "jax", "torch")  # in the order one is chosen when KERAS_BACKEND is unset


def installed_backend() -> str:
    """The first Keras backend that is installed: a GPU machine may have JAX or PyTorch and no TensorFlow."""
    import importlib.util

    for name in BACKENDS:
        if importlib.util.find_spec(name) is not None:
            return name
    return BACKENDS[0]  # none: Keras' own import error then names what to install


def quiet_backend_logs() -> None:
    # Must run before TensorFlow is imported: its C++ logging reads these at import.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = installed_backend()


def require_backend() -> None:
    """One clear line, not Keras' traceback, when the chosen backend is not installed."""
    import importlib.util

    from mammosearch.errors import BackendError

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend in BACKENDS and importlib.util.find_spec(backend) is None:
        installed = [name for name in BACKENDS if importlib.util.find_spec(name) is not None]
        other = f", or set KERAS_BACKEND to {' or '.join(installed)}" if installed else ""
        raise BackendError(f"the Keras backend {backend!r} is not installed: pip install 'mammosearch[{backend}]'{other}")


def import_keras_quietly() -> None:
    """Import Keras (and its backend) with the C++ start-up chatter of TensorFlow hidden.

    TensorFlow 2.21 prints absl/oneDNN/CUDA notices to file descriptor 2 before its own
    log level applies, so they are silenced by pointing fd 2 at /dev/null for the import
    only. Python errors are unaffected (raised after fd 2 is back). Set
    MAMMOSEARCH_BACKEND_LOGS=1 to see them.
    """
    quiet_backend_logs()
    require_backend()
    if "keras" in sys.modules or os.environ.get("MAMMOSEARCH_BACKEND_LOGS") == "1":
        import keras  # noqa: F401

        return
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def configure(precision: str = "float32", threads: int | None = None) -> str:
    """Configure the backend once per process; returns a one-line description for the log."""
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}, but got {precision!r}.")
    import_keras_quietly()
    import keras

    if threads is None and os.environ.get("MAMMOSEARCH_THREADS"):
        threads = int(os.environ["MAMMOSEARCH_THREADS"])  # set by `run --workers` per worker
    backend = keras.backend.backend()
    gpus = 0
    if backend == "tensorflow":
        import logging

        import tensorflow as tf

        # tf.function retracing notices fire when models of several shapes are built in one
        # process, which a search does by design.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)

        gpu_devices = tf.config.list_physical_devices("GPU")
        gpus = len(gpu_devices)
        for gpu in gpu_devices:
            # Grow GPU memory on demand so a second process (or worker) can share the card.
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:
                pass  # already initialised in this process
        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
            except RuntimeError:
                pass
    elif backend == "jax":
        import jax

        gpus = sum(1 for d in jax.devices() if d.platform == "gpu")
    elif backend == "torch":
        import torch

        gpus = torch.cuda.device_count()
        if threads:
            torch.set_num_threads(threads)
    if precision == "mixed":
        # float16 on GPUs; on a CPU bfloat16 is the mixed type that is actually faster.
        keras.mixed_precision.set_global_policy("mixed_float16" if gpus else "mixed_bfloat16")
    else:
        keras.mixed_precision.set_global_policy("float32")
    device = f"{gpus} GPU(s)" if gpus else f"CPU ({os.cpu_count()} cores)"
    return f"keras {keras.__version__} on {backend}, {device}, precision {keras.mixed_precision.global_policy().name}"


def free_accelerator_bytes() -> int | None:
    """Free memory of the first GPU as the backend sees it (None: training runs on the CPU, or the backend cannot say)."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            stats = gpus[0].memory_stats() if gpus else None
            return None if not stats else int(stats["bytes_limit"] - stats["bytes_in_use"])
        if backend == "torch":
            import torch

            return int(torch.cuda.mem_get_info()[0]) if torch.cuda.is_available() else None
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            return None
        # TensorFlow reports what it uses, not what is free: the driver says that.
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits", "--id=0"], capture_output=True, text=True, check=True)
        return int(float(out.stdout.strip().splitlines()[0]) * 2**20)
    except (OSError, ValueError, KeyError, IndexError, RuntimeError, subprocess.CalledProcessError):
        return None


def freeze_long_lived_objects() -> None:
    """Exclude everything alive now (TensorFlow's modules, the loaded images) from later collections.

    Every trial triggers full garbage collections (``clear_session(free_memory=True)`` and
    Optuna's ``gc_after_trial``); with TensorFlow imported each one walks millions of
    objects that will live as long as the process (about 0.25 s a collection on 2 cores,
    half a second a trial). Frozen objects are still freed by reference counting; only
    reference cycles among them are kept, and a collection just before freezing clears
    the cycles that are garbage already.
    """
    import gc

    gc.collect()
    gc.freeze()
