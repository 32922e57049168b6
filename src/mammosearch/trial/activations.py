"""Cached backbone activations: run the frozen part of a backbone once, train the rest many times.

In a transfer-learning search most trials push the same images through the same frozen
layers. The activations at the cut (the backbone output for feature extraction, the
layer just below the first unfrozen one for fine-tuning) depend only on the family, the
weights, the input size and channels, the cut and the images; they are kept in memory
and on disk (``results/cache/activations``) under a key of exactly those things, so
trials after the first, and resumed runs, skip the frozen layers entirely. A large set's
activations are written to their file as they are computed and read back memory-mapped
(float32, so the exported model reproduces a trial's stored scores within
``apply.agreement.SCORE_TOLERANCE``, and usually bit for bit on the same machine).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.data.arrays import chunks, computed_into, is_large, new_array, read_mapped, release
from mammosearch.progress import Stage, stage

MEMORY_ENTRIES = 6  # activations kept in RAM (least recently used dropped first)
BATCH = 64  # images per forward pass of the frozen part, unless the memory budget allows fewer (models/memory.py)
CHUNK_BATCHES = 16  # batches converted to float32 at once: the uint8 set is never copied whole
CHUNK_BYTES = 256 * 2**20  # ... nor more than this much of it (a high-resolution chunk)


def chunk_rows(images: np.ndarray, batch: int) -> int:
    """Rows converted to float32 at once: up to ``CHUNK_BATCHES`` batches, within ``CHUNK_BYTES``, a whole number of batches."""
    row_bytes = 4 * max(1, int(np.prod(images.shape[1:])))
    return batch * max(1, min(CHUNK_BATCHES, CHUNK_BYTES // (row_bytes * batch)))


def extract(extractor: Any, images: np.ndarray, path: Path | None = None, batch: int | None = None) -> np.ndarray:
    """``extractor`` run over ``images`` (uint8 pixels or float activations, possibly memory-mapped) a chunk at a time.

    Batches of ``batch`` (a chunk is a whole number of them), run eagerly (``forward``); only the float32 copy of the
    input is bounded by a chunk (``chunk_rows``) instead of the whole set. With ``path`` the
    activations of a large set (``paged.is_large``) are written into that ``.npy`` as they
    come (a memory map, its pages released chunk by chunk), never held in memory whole.
    """
    batch = batch or BATCH  # read at call time: a test may change BATCH
    out: np.ndarray | None = None
    with stage("activations", len(images), "images") as progress:
        for start, chunk in chunks(images, chunk_rows(images, batch)):
            part = forward(extractor, chunk.astype("float32"), batch, progress)
            if out is None:
                shape = (len(images), *part.shape[1:])
                out = new_array(path if is_large(int(np.prod(shape)) * 4) else None, shape, "float32")
            out[start : start + len(part)] = part
            release(out)
    return out if out is not None else np.empty((0,), dtype="float32")


def forward(extractor: Any, x: np.ndarray, batch: int | None = None, progress: Stage | None = None) -> np.ndarray:
    """``extractor`` called eagerly, ``batch`` images at a time (inference mode).

    Not ``predict``: an extractor runs once per cache key, so the graph ``predict`` traces
    for it (and the tf.data pipeline it builds) is never reused, and tracing a whole
    backbone costs more than running it (ResNet50 at 32 px on 2 cores: 4.4 s by predict,
    2.6 s eagerly; benchmarks/demo_vs.py). The numbers are the same, bit for bit.
    """
    from keras import ops

    batch = batch or BATCH
    parts = []
    for i in range(0, len(x), batch):
        parts.append(np.asarray(ops.convert_to_numpy(extractor(x[i : i + batch], training=False)), dtype="float32"))
        if progress is not None:
            progress.advance(len(parts[-1]))
    return np.concatenate(parts) if parts else np.empty((0,), dtype="float32")


@dataclass(frozen=True)
class ActivationKey:
    family: str
    weights: str  # "imagenet", "none@<seed>", or "<path>@<size>:<mtime>"
    input_size: int | str  # TrialParams.input_size: a square's side (as before) or "HxW"
    channels: int
    cut_layer: str
    images: str  # fingerprint of the pixel data

    def digest(self) -> str:
        text = "|".join(str(v) for v in (self.family, self.weights, self.input_size, self.channels, self.cut_layer, self.images))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def images_fingerprint(images: np.ndarray) -> str:
    """A hash of the pixels themselves: a changed image or preprocessing gives a new key."""
    digest = hashlib.sha256(str(images.shape).encode())
    with stage("hash pixels", len(images), "images") as progress:
        for _, chunk in chunks(images):
            digest.update(np.ascontiguousarray(chunk).data)
            progress.advance(len(chunk))
    return digest.hexdigest()[:32]


def weights_identity(weights: str | None, init_seed: int) -> str:
    if weights is None:
        return f"none@{init_seed}"  # random weights, deterministic per seed (see builders)
    if weights == "imagenet":
        return "imagenet"
    stat = Path(weights).stat()
    return f"{Path(weights).resolve()}@{stat.st_size}:{stat.st_mtime_ns}"


class ActivationCache:
    """Memory (LRU) in front of ``.npy`` files; ``compute`` runs only on a miss in both."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.memory: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, key: ActivationKey, compute: Callable[[Path | None], np.ndarray]) -> np.ndarray:
        """The activations under ``key``; on a miss ``compute(path)``, where ``path`` is a file
        the computation may write a large result into as it comes (see :func:`extract`)."""
        digest = key.digest()
        if digest in self.memory:
            self.memory.move_to_end(digest)
            return self.memory[digest]
        path = None if self.directory is None else self.directory / f"{digest}.npy"
        array = None if path is None else read_mapped(path)  # paged in as used
        if array is None:
            # A large set's activations are written to their file as they are computed.
            array = compute(None) if path is None else computed_into(path, compute)
        self.memory[digest] = array
        while len(self.memory) > MEMORY_ENTRIES:
            self.memory.popitem(last=False)
        return array
