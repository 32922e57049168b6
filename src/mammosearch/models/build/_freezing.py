"""Which backbone layers train: all frozen for feature extraction, the top N for fine-tuning."""

from __future__ import annotations

import keras

from mammosearch.errors import TrialFailed
from mammosearch.models.build._cut import plan_cut
from mammosearch.models.build._graph import backbone_input, backbone_of, countable_layers, has_backbone
from mammosearch.models.registry import family_of_backbone

__all__ = ["backbone_input", "backbone_of", "countable_layers", "freeze_backbone", "has_backbone", "unfreeze_top_layers"]


def freeze_backbone(model: keras.Model) -> None:
    backbone_of(model).trainable = False


def unfreeze_top_layers(model: keras.Model, n_layers: int) -> int:
    """Unfreeze the top ``n_layers`` of the backbone; returns how many now hold trainable weights.

    A family that fine-tunes by blocks (``registry.Family.fine_tune_by``) rounds ``n_layers``
    to the nearest whole block first, the same rounding as the cached path's cut, so both
    paths train the same layers. BatchNormalization layers stay frozen: the backbone is always called with
    ``training=False`` (inference-mode statistics) and its gamma/beta are not updated
    either, the usual recipe for fine-tuning on small data sets.
    """
    backbone = backbone_of(model)
    layers = countable_layers(backbone)
    if n_layers < 1 or n_layers > len(layers):
        raise TrialFailed(
            f"unfrozen_layers={n_layers} but {backbone.name} has {len(layers)} layers; "
            f"choose 1..{len(layers)}"
        )
    entry = family_of_backbone(backbone.name)
    if entry is not None and entry.fine_tune_by == "blocks":
        n_layers = plan_cut(backbone, n_layers).unfrozen
    backbone.trainable = True
    for layer in layers[: len(layers) - n_layers]:
        layer.trainable = False
    with_weights = 0
    for layer in layers[len(layers) - n_layers :]:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
        elif layer.trainable_weights:
            with_weights += 1
    return with_weights
