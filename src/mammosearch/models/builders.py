"""One builder per family, all with the same signature: ``(params, channels) -> keras.Model``.

Models take raw ``uint8``-range pixels of shape ``(input_size, input_size, channels)`` and
output one sigmoid probability of malignancy, shape ``(None, 1)``.
"""

from __future__ import annotations

from typing import Callable

import keras

from mammosearch.models.backbones import BACKBONES, reinitialize_deterministically
from mammosearch.models.heads import HEAD_BUILDERS, sigmoid_output
from mammosearch.models.stem import apply_augmentation, caffe_preprocess, scale_to_unit
from mammosearch.params import TrialParams

ModelBuilder = Callable[[TrialParams, int], keras.Model]


def build_cnn(params: TrialParams, channels: int) -> keras.Model:
    """The seed study's CNN: 3 x (Conv2D + MaxPool), Flatten, Dense, Dropout, sigmoid."""
    if params.cnn is None:
        raise ValueError("the cnn family needs `params.cnn`")
    cnn = params.cnn
    inputs = keras.Input((params.input_size, params.input_size, channels), name="image")
    x = apply_augmentation(inputs, params.augmentation)
    x = scale_to_unit(x)
    for block, filters in enumerate((cnn.filters, cnn.filters * 2, cnn.filters * 4), start=1):
        x = keras.layers.Conv2D(filters, cnn.kernel_size, padding="same", activation="relu", name=f"conv{block}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(cnn.dense_units, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(cnn.dropout, name="dropout")(x)
    return keras.Model(inputs, sigmoid_output(x), name="cnn")


def build_transfer(params: TrialParams, channels: int) -> keras.Model:
    """Frozen ImageNet backbone + a new head (feature extraction); fine-tuning unfreezes later."""
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    backbone_spec = BACKBONES[params.family]
    size = params.input_size
    # weights: "imagenet" (cached by ensure_imagenet_weights), a local file, or None.
    backbone = backbone_spec.constructor(include_top=False, weights=params.weights, input_shape=(size, size, 3))
    if params.weights is None:
        reinitialize_deterministically(backbone)
    backbone.trainable = False
    inputs = keras.Input((size, size, channels), name="image")
    x = apply_augmentation(inputs, params.augmentation)
    x = caffe_preprocess(x, channels)
    # training=False keeps the backbone's BatchNorm layers in inference mode, also when fine-tuning.
    features = backbone(x, training=False)
    outputs = HEAD_BUILDERS[params.head.kind](features, params.head, seed=params.seed)
    return keras.Model(inputs, outputs, name=f"{params.family}_{params.head.kind}")


MODEL_BUILDERS: dict[str, ModelBuilder] = {
    "cnn": build_cnn,
    "vgg16": build_transfer,
    "resnet50": build_transfer,
}


def build_model(params: TrialParams, channels: int) -> keras.Model:
    return MODEL_BUILDERS[params.family](params, channels)
