"""Per-trial TensorBoard logs with the trial's hyper-parameters (``--tensorboard``).

Uses ``tf.summary`` (the TensorBoard file format), so it needs TensorFlow installed; on
other Keras backends the per-epoch scalars still need TensorFlow's writer, so without it
the option is refused up front rather than failing each trial.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import keras

from mammosearch.errors import SpaceError
from mammosearch.spec import TrialParams


def flat_hparams(params: TrialParams) -> dict[str, bool | int | float | str]:
    """Nested params -> the flat scalar dict the HParams dashboard takes (None -> "none")."""
    flat: dict[str, bool | int | float | str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}{key}.", inner)
        else:
            flat[prefix.rstrip(".")] = "none" if value is None else value

    walk("", dataclasses.asdict(params))
    return flat


class _HParamsWriter(keras.callbacks.Callback):
    def __init__(self, log_dir: Path, hparams: dict[str, bool | int | float | str]) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.hparams = hparams

    def on_train_begin(self, logs: dict | None = None) -> None:
        import tensorflow as tf
        from tensorboard.plugins.hparams import api as hp

        writer = tf.summary.create_file_writer(str(self.log_dir))
        with writer.as_default():
            hp.hparams(self.hparams)
        writer.flush()
        writer.close()


def tensorboard_callbacks(log_dir: Path, params: TrialParams) -> list[keras.callbacks.Callback]:
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        raise SpaceError("--tensorboard needs TensorFlow installed (pip install tensorflow)") from None
    log_dir.mkdir(parents=True, exist_ok=True)
    return [
        keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False, profile_batch=0),
        _HParamsWriter(log_dir, flat_hparams(params)),
    ]
