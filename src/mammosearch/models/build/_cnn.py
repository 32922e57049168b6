"""The seed study's custom CNN: 3 x (Conv2D + MaxPool), Flatten, Dense, Dropout, sigmoid."""

from __future__ import annotations

import keras

from mammosearch.models.build._heads import sigmoid_output
from mammosearch.models.build._stem import apply_augmentation, scale_to_unit
from mammosearch.spec import TrialParams


def build_cnn(params: TrialParams, channels: int) -> keras.Model:
    """Raw ``uint8``-range pixels ``(height, width, channels)`` (``params.size``) -> probability, shape ``(None, 1)``."""
    if params.cnn is None:
        raise ValueError("the cnn family needs `params.cnn`")
    cnn = params.cnn
    inputs = keras.Input((*params.size.shape, channels), name="image")
    x = apply_augmentation(inputs, params.augmentation)
    x = scale_to_unit(x)
    for block, filters in enumerate((cnn.filters, cnn.filters * 2, cnn.filters * 4), start=1):
        x = keras.layers.Conv2D(filters, cnn.kernel_size, padding="same", activation="relu", name=f"conv{block}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(cnn.dense_units, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(cnn.dropout, name="dropout")(x)
    return keras.Model(inputs, sigmoid_output(x), name="cnn")
