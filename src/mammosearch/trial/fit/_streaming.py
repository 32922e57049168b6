"""A fold's training data: copied into memory when small, streamed from where it lies when large.

Small sets (the demo, mini-MIAS, a few thousand crops) train as before: the training rows
as one float32 array handed to ``fit``, Keras shuffling them. Above ``paged.IN_MEMORY_BYTES``
(as float32; ``MAMMOSEARCH_IN_MEMORY_MB``, default 256) the rows stay in the array they
come from (the memory-mapped image cache or cached activations) and a ``PyDataset``
(:class:`~mammosearch.trial.views.ViewBatches` over a single view) reads one shuffled
batch at a time, on any backend. The two paths shuffle differently, so a set's trials do
not change when it is small; only the path is chosen by size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.data.arrays import is_large
from mammosearch.spec import TrialParams
from mammosearch.trial.fit._training import Arrays, class_weights_for


def float32_bytes(x: np.ndarray, rows: int) -> int:
    """What ``rows`` rows of ``x`` cost as float32."""
    return rows * int(np.prod(x.shape[1:])) * 4


def training_data(x: np.ndarray, rows: np.ndarray, labels: np.ndarray, params: TrialParams) -> Any:
    """Rows ``rows`` of ``x`` as what ``fit_two_phase`` trains on: ``Arrays`` in memory, or a streaming dataset."""
    if not is_large(float32_bytes(x, len(rows))):
        return Arrays.of(x[rows], labels[rows])
    from mammosearch.trial.fit._views import ViewBatches

    weights = class_weights_for(labels[rows]) if params.class_weights else None
    # x[None] is a view (one "view" of every image), not a copy: the batches read rows from x itself.
    return ViewBatches(x[None], rows, labels[rows], params.batch_size, params.seed, weights)
