"""Cached augmented views: augmentation without giving up the activation cache.

With augmentation on, the frozen layers see a different image every epoch, so their
output cannot be computed once. Instead each image is augmented V times, once (seeded),
and the frozen layers' output for every view is cached (float16, a memory-mapped file
written as it is computed, so a large set does not have to fit in memory). Each epoch draws one view per training
image; validation and test stay unaugmented. Keras' own augmentation layers make the
views, so a view is exactly what the full network would have seen for some draw.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from mammosearch.data.arrays import chunks, is_large, new_array, release, stored_or_computed
from mammosearch.models.build import augmentation_layers
from mammosearch.progress import stage
from mammosearch.spec import AugmentationParams
from mammosearch.trial.activations import BATCH, chunk_rows, forward

RELEASE_EVERY = 64  # batches between dropping a memory-mapped source's pages


def augmented_batches(images: np.ndarray, aug: AugmentationParams, seed: int, batch: int = BATCH) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, batch)``: one view of ``images``, ``batch`` at a time, by Keras' augmentation layers (seed ``seed``) in training mode."""
    layers = augmentation_layers(aug, seed=seed)
    for start in range(0, len(images), batch):
        x: Any = images[start : start + batch].astype("float32")
        for layer in layers:
            x = layer(x, training=True)
        yield start, keras.ops.convert_to_numpy(x)


def augment(images: np.ndarray, aug: AugmentationParams, views: int, seed: int) -> np.ndarray:
    """``(views, N, H, W, C)`` float32: view v is Keras' augmentation layers (seed ``seed + v``) in training mode."""
    out = np.empty((views, *images.shape), dtype=np.float32)
    for view in range(views):
        for start, x in augmented_batches(images, aug, seed + view):
            out[view, start : start + len(x)] = x
    return out


def view_activations(
    extractor: Any, images: np.ndarray, aug: AugmentationParams, views: int, seed: int, path: Path | None, batch: int = BATCH,
) -> np.ndarray:
    """``(views, N, ...)`` float16: ``extractor`` over each augmented view, a chunk (``activations.chunk_rows``) at a time.

    The same augmented pixels as :func:`augment` and the same batches of ``batch`` through
    the extractor, without ever holding a whole view; a large result goes into the ``.npy``
    at ``path`` as it is computed.
    """
    out: np.ndarray | None = None
    rows = chunk_rows(images, batch)
    with stage("augmented views", views * len(images), "images") as progress:
        for view in range(views):
            pending: list[np.ndarray] = []
            done = 0
            for start, x in augmented_batches(images, aug, seed + view, batch):
                pending.append(x)
                if sum(len(p) for p in pending) < rows and start + len(x) < len(images):
                    continue
                part = np.asarray(extractor.predict(np.concatenate(pending), batch_size=batch, verbose=0))
                if out is None:
                    shape = (views, len(images), *part.shape[1:])
                    out = new_array(path if is_large(int(np.prod(shape)) * 2) else None, shape, np.float16)
                out[view, done : done + len(part)] = part
                done += len(part)
                pending = []
                release(out)
                progress.advance(len(part))
    assert out is not None, "no images to augment"
    return out


def derived_views(between: Any, below: np.ndarray, path: Path | None, batch: int = BATCH) -> np.ndarray:
    """``(views, N, ...)`` float16: the views' activations at a higher cut, from theirs at a lower one (``below``).

    ``between`` is the frozen layers from the lower cut to the higher (``models.cut.layers_between``):
    no view goes through the layers below the lower cut again.
    """
    out: np.ndarray | None = None
    with stage("augmented views", below.shape[0] * below.shape[1], "images") as progress:
        for view in range(below.shape[0]):
            for start, chunk in chunks(below[view], chunk_rows(below[view], batch)):
                part = forward(between, chunk.astype("float32"), batch, progress)
                if out is None:
                    shape = (below.shape[0], below.shape[1], *part.shape[1:])
                    out = new_array(path if is_large(int(np.prod(shape)) * 2) else None, shape, np.float16)
                out[view, start : start + len(part)] = part
                release(out)
    assert out is not None, "no views to derive from"
    return out


def view_key(base: str, aug: AugmentationParams, views: int, seed: int) -> str:
    text = f"{base}|views={views}|seed={seed}|flip={aug.flip}|rotation={aug.rotation}|zoom={aug.zoom}|contrast={aug.contrast}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_views(path: Path | None, compute: Callable[[Path | None], np.ndarray]) -> np.ndarray:
    """The views' activations from ``path`` (memory-mapped, read-only), computed and stored as float16 on a miss.

    ``compute(filling)`` may write a large result straight into ``filling`` (see :func:`view_activations`).
    """
    if path is None:
        return compute(None).astype(np.float16, copy=False)
    # One worker sharing the cache computes it, the others wait and map it (data/arrays/_fill_lock.py).
    values = stored_or_computed(path, lambda filling: compute(filling).astype(np.float16, copy=False))
    # Kept in memory and saved: read back memory-mapped, as a stored one is (unless it could not be saved).
    return values if isinstance(values, np.memmap) or not path.is_file() else np.load(path, mmap_mode="r")


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
        if batch % RELEASE_EVERY == RELEASE_EVERY - 1:
            release(self.views)  # a memory-mapped source: what was read leaves this process's resident set
        y = self.labels[rows]
        return (x, y) if self.weights is None else (x, y, self.weights[rows])

    def on_epoch_end(self) -> None:
        release(self.views)
        self.epoch += 1
        self._draw()
