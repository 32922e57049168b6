"""Models for the cached-activation path, sharing every layer (and weight) with the full model.

``feature_model``: raw image -> activations at the cut (the frozen part, run once).
``trainer_model``: activations -> backbone layers above the cut -> head -> sigmoid.
Training the trainer trains the full model's own layers, so the full model that is
evaluated, saved and exported is the same object the uncached path would produce.
"""

from __future__ import annotations

import keras

from mammosearch.models.build._cut import bottom_until, top_layers_after
from mammosearch.models.build._freezing import backbone_input, backbone_of, countable_layers
from mammosearch.models.build._heads import HEAD_BUILDERS
from mammosearch.spec import TrialParams


def output_cut(full: keras.Model) -> str:
    """Feature extraction caches the backbone's own output."""
    return countable_layers(backbone_of(full))[-1].name


def feature_model(full: keras.Model, cut_layer: str) -> keras.Model:
    # Whatever feeds the backbone (the stem's output, whichever preprocessing mode built it).
    backbone = backbone_of(full)
    preprocessed = backbone_input(full)
    return keras.Model(full.input, bottom_until(backbone, cut_layer)(preprocessed), name="features")


def _head_layers(full: keras.Model) -> list[keras.layers.Layer]:
    layers = full.layers
    start = layers.index(backbone_of(full)) + 1
    return layers[start:]


def trainer_model(full: keras.Model, cut_layer: str, feature_shape: tuple[int, ...]) -> keras.Model:
    backbone = backbone_of(full)
    features = keras.Input(feature_shape, name="activations")
    x = features
    if cut_layer != output_cut(full):
        x = top_layers_after(backbone, cut_layer)(x)
    for layer in _head_layers(full):  # the heads are chains: Flatten/GAP -> ... -> sigmoid
        x = layer(x)
    return keras.Model(features, x, name=f"{full.name}_on_activations")


def head_only_model(params: TrialParams, feature_shape: tuple[int, ...]) -> keras.Model:
    """Feature extraction without building the backbone: the head alone on cached activations."""
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    features = keras.Input(feature_shape, name="activations")
    outputs = HEAD_BUILDERS[params.head.kind](features, params.head, seed=params.seed)
    return keras.Model(features, outputs, name=f"{params.family}_{params.head.kind}_head")


def copy_head_weights(source: keras.Model, target: keras.Model) -> None:
    """Head layers have the same names in the head-only model and the full model."""
    for layer in source.layers:
        if layer.weights:
            target.get_layer(layer.name).set_weights(layer.get_weights())
