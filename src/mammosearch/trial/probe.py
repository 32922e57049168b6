"""The linear probe: logistic regression on a pretrained backbone's globally pooled features.

What a frozen ImageNet backbone gives for free: a search over heads, fine-tuning depths and
learning rates should beat it. The features come from the same activation cache the
trials use (backbone output at the family's output layer), computed from the deepest cut
the space's fine-tuning trials need (trial/deepest_cut.py): the probe's pass from the
pixels is the one every later trial reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.config import Space
from mammosearch.data import Fold, ImageSet, evaluate_on_folds
from mammosearch.data.arrays import chunks
from mammosearch.data.decode import images_at
from mammosearch.models import family as family_entry
from mammosearch.spec import AugmentationParams, HeadParams, TrialParams, smallest_option
from mammosearch.trial._deepest_cut import FrozenPasses, activations_at, deepest_unfrozen
from mammosearch.trial.activations import BATCH, ActivationCache, ActivationKey, images_fingerprint, weights_identity
from mammosearch.trial.memory_plan import BatchCaps


def pretrained_families(space: Space) -> list[str]:
    return [name for name in space.model.families if family_entry(name).transfer and space.model.weights.get(name) is not None]


def linear_probes(space: Space, images: ImageSet, folds: list[Fold], activation_dir: Path | None, caps: BatchCaps | None = None) -> list[dict[str, Any]]:
    """One probe per pretrained family of the space, at the space's smallest input size (frozen passes within ``caps``)."""
    families = pretrained_families(space)
    if not families:
        return []
    size = smallest_option(space.model.input_size)  # the fewest pixels, as a trial stores it: a square's side (as before) or "HxW"
    data = images_at(images.images, size, activation_dir, lambda: images_fingerprint(images.images))
    probes = []
    for name in families:
        passes = FrozenPasses(ActivationCache(activation_dir), deepest_unfrozen(space), BATCH if caps is None else caps.frozen_batch(name, size))
        features = _pooled_features(name, space.model.weights.get(name), size, data, images.channels, passes)
        result = evaluate_on_folds(features, images.labels, images.patient_ids, folds, f"linear probe on {name} ({space.model.weights.get(name)})")
        if result is not None:
            probes.append({**result, "family": name, "input_size": size})
    return probes


def _pooled_features(name: str, weights: str | None, size: int | str, data: np.ndarray, channels: int, passes: FrozenPasses) -> np.ndarray:
    import keras

    from mammosearch.models import build_model
    from mammosearch.models.build import RANDOM_INIT_SEED

    cut = family_entry(name).output_layer
    assert cut is not None
    # The same key as a trial's feature extraction: the probe and the trials share the pass.
    key = ActivationKey(name, weights_identity(weights, RANDOM_INIT_SEED), size, channels, cut, images_fingerprint(data))
    params = TrialParams(
        family=name, input_size=size, optimizer="adam", learning_rate=1e-3, batch_size=64, epochs=1,
        augmentation=AugmentationParams(), weights=weights, head=HeadParams("gap_dropout", 0.0),
    )

    def full_model() -> object:
        keras.backend.clear_session(free_memory=True)
        return build_model(params, channels)

    # From the deepest cut the space's trials need: their fine-tuning cuts then cost no pass from the pixels.
    activations = activations_at(passes, key, data, full_model)
    # Global average pooling, a chunk at a time: a large set's activations are a memory map.
    pooled = [chunk.reshape(len(chunk), -1, chunk.shape[-1]).mean(axis=1) for _, chunk in chunks(activations)]
    return np.concatenate(pooled) if pooled else np.empty((0, activations.shape[-1]), dtype="float32")
