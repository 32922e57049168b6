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

MEMORY_ENTRIES = 6  # activations kept in RAM (least recently used dropped first)
BATCH = 64  # images per forward pass of the frozen part
CHUNK = 16 * BATCH  # images converted to float32 at once: the uint8 set is never copied whole


def extract(extractor: Any, images: np.ndarray, path: Path | None = None) -> np.ndarray:
    """``extractor`` run over ``images`` (uint8, possibly memory-mapped) a chunk at a time.

    Batches of ``BATCH`` (``CHUNK`` is a multiple of it), run eagerly (``_forward``); only the float32 copy of the
    input is bounded by ``CHUNK`` images instead of the whole set. With ``path`` the
    activations of a large set (``paged.is_large``) are written into that ``.npy`` as they
    come (a memory map, its pages released chunk by chunk), never held in memory whole.
    """
    out: np.ndarray | None = None
    for start, chunk in chunks(images, CHUNK):
        part = _forward(extractor, chunk.astype("float32"))
        if out is None:
            shape = (len(images), *part.shape[1:])
            out = new_array(path if is_large(int(np.prod(shape)) * 4) else None, shape, "float32")
        out[start : start + len(part)] = part
        release(out)
    return out if out is not None else np.empty((0,), dtype="float32")


def _forward(extractor: Any, x: np.ndarray) -> np.ndarray:
    """``extractor`` called eagerly, ``BATCH`` images at a time (inference mode).

    Not ``predict``: an extractor runs once per cache key, so the graph ``predict`` traces
    for it (and the tf.data pipeline it builds) is never reused, and tracing a whole
    backbone costs more than running it (ResNet50 at 32 px on 2 cores: 4.4 s by predict,
    2.6 s eagerly; benchmarks/demo_vs.py). The numbers are the same, bit for bit.
    """
    from keras import ops

    parts = [np.asarray(ops.convert_to_numpy(extractor(x[i : i + BATCH], training=False)), dtype="float32") for i in range(0, len(x), BATCH)]
    return np.concatenate(parts) if parts else np.empty((0,), dtype="float32")


@dataclass(frozen=True)
class ActivationKey:
    family: str
    weights: str  # "imagenet", "none@<seed>", or "<path>@<size>:<mtime>"
    input_size: int
    channels: int
    cut_layer: str
    images: str  # fingerprint of the pixel data

    def digest(self) -> str:
        text = "|".join(str(v) for v in (self.family, self.weights, self.input_size, self.channels, self.cut_layer, self.images))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def images_fingerprint(images: np.ndarray) -> str:
    """A hash of the pixels themselves: a changed image or preprocessing gives a new key."""
    digest = hashlib.sha256(str(images.shape).encode())
    for _, chunk in chunks(images):
        digest.update(np.ascontiguousarray(chunk).data)
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
