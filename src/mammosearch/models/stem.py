"""The layers between the raw image and the feature extractor: augmentation and preprocessing.

Everything here is a built-in Keras layer, so saved models load in safe mode.
Augmentation layers are active only in ``fit`` (Keras turns them off in inference).
"""

from __future__ import annotations

import keras
import numpy as np

from mammosearch.spec.params import AugmentationParams

CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)  # ImageNet channel means, BGR order


def augmentation_layers(aug: AugmentationParams, seed: int | None = None) -> list[keras.layers.Layer]:
    layers: list[keras.layers.Layer] = []
    if aug.flip:
        # Left/right breasts are mirror images: horizontal flips are anatomically plausible.
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed, name="aug_flip"))
    if aug.rotation > 0:
        layers.append(keras.layers.RandomRotation(aug.rotation, fill_mode="reflect", seed=seed, name="aug_rotation"))
    if aug.zoom > 0:
        layers.append(keras.layers.RandomZoom(aug.zoom, fill_mode="reflect", seed=seed, name="aug_zoom"))
    if aug.contrast > 0:
        layers.append(keras.layers.RandomContrast(aug.contrast, value_range=(0, 255), seed=seed, name="aug_contrast"))
    return layers


def apply_augmentation(x: keras.KerasTensor, aug: AugmentationParams, seed: int | None = None) -> keras.KerasTensor:
    for layer in augmentation_layers(aug, seed):
        x = layer(x)
    return x


def scale_to_unit(x: keras.KerasTensor) -> keras.KerasTensor:
    """0..255 -> 0..1, the custom CNN's input convention."""
    return keras.layers.Rescaling(1.0 / 255.0, name="scale_0_1")(x)


def caffe_preprocess(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """Grayscale or RGB 0..255 -> what VGG16/ResNet50 ImageNet weights expect.

    Grayscale is repeated to three channels (identical channels make the RGB->BGR swap a
    no-op); RGB is reordered to BGR with a fixed permutation. Then the BGR channel means
    are subtracted (``Normalization`` with unit variance does exactly ``x - mean``).
    """
    if channels == 1:
        x = keras.layers.Concatenate(axis=-1, name="gray_to_rgb")([x, x, x])
    else:
        swap = keras.layers.Dense(3, use_bias=False, trainable=False, name="rgb_to_bgr")
        x = swap(x)
        swap.set_weights([np.eye(3, dtype="float32")[::-1].copy()])
    normalize = keras.layers.Normalization(
        axis=-1, mean=list(CAFFE_BGR_MEANS), variance=[1.0, 1.0, 1.0], name="imagenet_caffe_means"
    )
    return normalize(x)
