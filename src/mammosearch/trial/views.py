"""Cached augmented views: augmentation without giving up the activation cache.

With augmentation on, the frozen layers see a different image every epoch, so their
output cannot be computed once. Instead each image is augmented V times, once (seeded),
and the frozen layers' output for every view is cached (float16, a memory-mapped file,
so a large set does not have to fit in memory). Each epoch draws one view per training
image; validation and test stay unaugmented. Keras' own augmentation layers make the
views, so a view is exactly what the full network would have seen for some draw.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mammosearch.config.params import AugmentationParams
from mammosearch.files import write_atomically
from mammosearch.models.stem import augmentation_layers

BATCH = 64


def augment(images: np.ndarray, aug: AugmentationParams, views: int, seed: int) -> np.ndarray:
    """``(views, N, H, W, C)`` float32: view v is Keras' augmentation layers (seed ``seed + v``) in training mode."""
    out = np.empty((views, *images.shape), dtype=np.float32)
    for view in range(views):
        layers = augmentation_layers(aug, seed=seed + view)
        for start in range(0, len(images), BATCH):
            x: Any = images[start : start + BATCH].astype("float32")
            for layer in layers:
                x = layer(x, training=True)
            out[view, start : start + BATCH] = keras.ops.convert_to_numpy(x)
    return out


def view_key(base: str, aug: AugmentationParams, views: int, seed: int) -> str:
    text = f"{base}|views={views}|seed={seed}|flip={aug.flip}|rotation={aug.rotation}|zoom={aug.zoom}|contrast={aug.contrast}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_views(path: Path | None, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The views' activations from ``path`` (memory-mapped, read-only), computed and stored as float16 on a miss."""
    if path is not None and path.is_file():
        try:
            return np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    values = compute().astype(np.float16)
    if path is None:
        return values
    try:
        write_atomically(path, lambda p: np.save(p, values, allow_pickle=False))
        return np.load(path, mmap_mode="r")
    except OSError:
        return values  # an unwritable cache costs memory, not correctness


class ViewBatches(keras.utils.PyDataset):
    """Training batches that take one view of each image per epoch, in a seeded shuffled order.

    ``views``: ``(V, N, ...)`` (activations or pixels); ``index``: the training images' rows.
    Class weights come as per-sample weights, so every backend treats them alike.
    """

    def __init__(self, views: np.ndarray, index: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, class_weights: dict[int, float] | None) -> None:
        super().__init__()
        self.views, self.index, self.labels = views, index, labels.astype("float32")
        self.batch_size, self.seed = batch_size, seed
        self.weights = None if class_weights is None else np.asarray([class_weights[int(y)] for y in self.labels], dtype="float32")
        self.epoch = 0
        self._draw()

    def _draw(self) -> None:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.order = rng.permutation(len(self.index))
        self.view_of = rng.integers(0, self.views.shape[0], len(self.index))

    def __len__(self) -> int:
        return math.ceil(len(self.index) / self.batch_size)

    def __getitem__(self, batch: int) -> tuple[np.ndarray, ...]:
        rows = self.order[batch * self.batch_size : (batch + 1) * self.batch_size]
        x = np.asarray(self.views[self.view_of[rows], self.index[rows]], dtype="float32")
        y = self.labels[rows]
        return (x, y) if self.weights is None else (x, y, self.weights[rows])

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._draw()
