"""A trained model on disk: the full model, or a cached-activation head's weights alone.

A head trained on cached activations is saved as its weights (up to about 10 MB, a dense
head on ResNet50, against 60-100 MB for a full model); :func:`assemble_model` later
builds the full model (stem, backbone, head) from the trial's params and those weights.
The backbone's weights come from the same place as during the search (the ImageNet file,
a local file, or the deterministic random initialisation of ``weights: none``), so the
assembled model computes what the trial evaluated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mammosearch.files import write_atomically
from mammosearch.spec.params import TrialParams

MODEL_FILE = "model.keras"
HEAD_WEIGHTS_FILE = "head.weights.h5"


def save_full_model(model: Any, trial_dir: Path) -> None:
    write_atomically(trial_dir / MODEL_FILE, lambda p: model.save(p))


def save_head_weights(head: Any, trial_dir: Path) -> None:
    """The head-only model's weights; ``model.keras`` is assembled from them later."""
    write_atomically(trial_dir / HEAD_WEIGHTS_FILE, lambda p: head.save_weights(p))


def assemble_model(trial_dir: Path, params: TrialParams, channels: int) -> Path:
    """Write ``model.keras`` for a trial whose head was saved alone; returns its path."""
    import keras

    from mammosearch.models.cached import copy_head_weights, head_only_model
    from mammosearch.models.freezing import backbone_of
    from mammosearch.models.registry import build_model

    full = build_model(params, channels)
    head = head_only_model(params, tuple(int(d) for d in backbone_of(full).output.shape[1:]))
    head.load_weights(trial_dir / HEAD_WEIGHTS_FILE)
    copy_head_weights(head, full)
    path = write_atomically(trial_dir / MODEL_FILE, lambda p: full.save(p))
    (trial_dir / HEAD_WEIGHTS_FILE).unlink(missing_ok=True)
    keras.backend.clear_session(free_memory=True)
    return path
