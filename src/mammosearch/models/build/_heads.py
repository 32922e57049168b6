"""Classifier heads put on top of a feature extractor; each ends in a float32 sigmoid."""

from __future__ import annotations

from collections.abc import Callable

import keras

from mammosearch.spec import HeadParams


def sigmoid_output(x: keras.KerasTensor, seed: int | None = None) -> keras.KerasTensor:
    # float32 output keeps the probabilities (and the loss) stable under mixed precision.
    return keras.layers.Dense(
        1, activation="sigmoid", dtype="float32", name="malignancy",
        kernel_initializer=keras.initializers.GlorotUniform(seed=None if seed is None else seed + 1),
    )(x)


# Heads take an explicit seed, so the same head comes out whether it is built on top of a
# backbone or alone on cached activations (building a backbone consumes the global RNG).


def dense_bn_dropout(features: keras.KerasTensor, head: HeadParams, seed: int | None = None) -> keras.KerasTensor:
    """Flatten -> Dense(ReLU) -> BatchNorm -> Dropout -> sigmoid, as in the seed study."""
    if head.dense_units is None:
        raise ValueError("the dense_bn_dropout head needs `dense_units`")
    x = keras.layers.Flatten(name="head_flatten")(features)
    x = keras.layers.Dense(head.dense_units, activation="relu", name="head_dense", kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    # momentum 0.9 (Keras default 0.99): the moving statistics must settle within the few
    # hundred steps of a search trial, or inference-mode outputs collapse to one class.
    x = keras.layers.BatchNormalization(momentum=0.9, name="head_bn")(x)
    x = keras.layers.Dropout(head.dropout, name="head_dropout", seed=seed)(x)
    return sigmoid_output(x, seed)


def gap_dropout(features: keras.KerasTensor, head: HeadParams, seed: int | None = None) -> keras.KerasTensor:
    """GlobalAveragePooling -> Dropout -> sigmoid."""
    x = keras.layers.GlobalAveragePooling2D(name="head_gap")(features)
    x = keras.layers.Dropout(head.dropout, name="head_dropout", seed=seed)(x)
    return sigmoid_output(x, seed)


HEAD_BUILDERS: dict[str, Callable[..., keras.KerasTensor]] = {
    "dense_bn_dropout": dense_bn_dropout,
    "gap_dropout": gap_dropout,
}
