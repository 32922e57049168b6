"""The layers between the raw image and the feature extractor: augmentation and preprocessing.

Everything here is a built-in Keras layer, so saved models load in safe mode.
Augmentation layers are active only in ``fit`` (Keras turns them off in inference).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from mammosearch.spec import AugmentationParams

CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)  # ImageNet channel means, BGR order
TORCH_RGB_MEANS = (0.485, 0.456, 0.406)
TORCH_RGB_STDS = (0.229, 0.224, 0.225)


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


def to_three_channels(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """Grayscale is repeated to the three channels every ImageNet backbone takes; RGB passes."""
    return keras.layers.Concatenate(axis=-1, name="gray_to_rgb")([x, x, x]) if channels == 1 else x


def caffe_preprocess(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """Grayscale or RGB 0..255 -> what VGG16/ResNet50 ImageNet weights expect.

    Grayscale is repeated to three channels (identical channels make the RGB->BGR swap a
    no-op); RGB is reordered to BGR with a fixed permutation. Then the BGR channel means
    are subtracted (``Normalization`` with unit variance does exactly ``x - mean``).
    """
    if channels == 1:
        x = to_three_channels(x, channels)
    else:
        swap = keras.layers.Dense(3, use_bias=False, trainable=False, name="rgb_to_bgr")
        x = swap(x)
        swap.set_weights([np.eye(3, dtype="float32")[::-1].copy()])
    normalize = keras.layers.Normalization(
        axis=-1, mean=list(CAFFE_BGR_MEANS), variance=[1.0, 1.0, 1.0], name="imagenet_caffe_means"
    )
    return normalize(x)


def torch_preprocess(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """Keras' "torch" mode: 0..255 -> 0..1, minus the ImageNet RGB means, over their standard deviations."""
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale_0_1")(to_three_channels(x, channels))
    normalize = keras.layers.Normalization(
        axis=-1, mean=list(TORCH_RGB_MEANS), variance=[s * s for s in TORCH_RGB_STDS], name="imagenet_torch_norm"
    )
    return normalize(x)


def tf_preprocess(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """Keras' "tf" mode: 0..255 -> -1..1."""
    return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale_minus1_1")(to_three_channels(x, channels))


def model_preprocess(x: keras.KerasTensor, channels: int) -> keras.KerasTensor:
    """The backbone scales and normalises raw pixels itself (``include_preprocessing=True``)."""
    return to_three_channels(x, channels)


# One builder per registry preprocessing mode (``registry.PreprocessingMode``); all built-in
# layers, so the exported model still loads in safe mode.
PREPROCESSORS: dict[str, Callable[[keras.KerasTensor, int], keras.KerasTensor]] = {
    "caffe": caffe_preprocess,
    "torch": torch_preprocess,
    "tf": tf_preprocess,
    "model": model_preprocess,
}
