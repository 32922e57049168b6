"""Which backbone layers train: all frozen for feature extraction, the top N for fine-tuning."""

from __future__ import annotations

import keras

from mammosearch.errors import TrialFailed


def backbone_of(model: keras.Model) -> keras.Model:
    """The nested keras.applications model (named after its family: vgg16, resnet50)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"model {model.name!r} has no backbone (only transfer families have one)")


def has_backbone(model: keras.Model) -> bool:
    return any(isinstance(layer, keras.Model) for layer in model.layers)


def countable_layers(backbone: keras.Model) -> list[keras.layers.Layer]:
    """The layers that ``unfrozen_layers`` counts: every layer but the input."""
    return [layer for layer in backbone.layers if not isinstance(layer, keras.layers.InputLayer)]


def freeze_backbone(model: keras.Model) -> None:
    backbone_of(model).trainable = False


def unfreeze_top_layers(model: keras.Model, n_layers: int) -> int:
    """Unfreeze the top ``n_layers`` of the backbone; returns how many now hold trainable weights.

    BatchNormalization layers stay frozen: the backbone is always called with
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
