"""Flip test-time augmentation as part of the model: the mean of the image's and its mirror image's probability.

The field's predictor (Shen et al. 2019; RSNA 2023 winners) averages a breast and its
horizontal mirror. Built into the saved model so an exported model applies it by itself,
from built-in layers only (it loads in Keras safe mode with no custom code): the mirror is
an ``EinsumDense`` over the width with a fixed anti-identity matrix. Every output pixel is
one input pixel times 1 plus zeros, so the mirror is exact in float32 (and in bfloat16 or
TF32 too: the inputs are integers 0..255). Its cost is ``H x W x W x C`` multiply-adds
per image: 3.4e7 at 224 x 224 x 3, about 0.2 % of VGG16's forward pass there, and the same
share at any size whose width grows with the height.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIRROR_LAYER = "horizontal_mirror"
TTA_MEAN_LAYER = "flip_tta_mean"
FLIP = "flip"
NONE = "none"
TTA_CHOICES = (NONE, FLIP)


def mirror_images(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, C)`` images mirrored left to right (a view, no copy)."""
    return images[:, :, ::-1, :]


def with_flip_tta(model: Any) -> Any:
    """A model taking what ``model`` takes and returning the mean of ``model(x)`` and ``model(mirror(x))``."""
    import keras

    shape = tuple(int(d) for d in model.input_shape[1:])
    height, width, channels = shape
    inputs = keras.Input(shape, name="image")
    mirror = keras.layers.EinsumDense("bhwc,wv->bhvc", output_shape=(height, width, channels), name=MIRROR_LAYER, trainable=False)
    mirrored = mirror(inputs)
    mirror.set_weights([np.eye(width, dtype="float32")[::-1]])
    average = keras.layers.Average(name=TTA_MEAN_LAYER, dtype="float32")([model(inputs), model(mirrored)])
    return keras.Model(inputs, average, name=f"{model.name}_flip_tta")


def applies_flip_tta(model: Any) -> bool:
    """Whether ``model`` was built by :func:`with_flip_tta` (found by its layer names)."""
    return any(layer.name == MIRROR_LAYER for layer in model.layers) and any(layer.name == TTA_MEAN_LAYER for layer in model.layers)


def without_flip_tta(model: Any) -> Any:
    """The model inside a :func:`with_flip_tta` wrapper (``model`` itself when it has none)."""
    import keras

    if not applies_flip_tta(model):
        return model
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner[0]
