"""ImageNet backbones: which keras.applications constructor, which preprocessing.

Both VGG16 and ResNet50 use Keras' "caffe" preprocessing (RGB -> BGR, minus the ImageNet
channel means, no scaling). The mammosearch models do that preprocessing *inside* the
network with built-in layers, so an exported model takes raw 0..255 pixels and loads in
Keras safe mode without any custom code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras

CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class Backbone:
    name: str
    constructor: Callable[..., keras.Model]
    preprocessing: str = "caffe"


# Their ImageNet weights files: mammosearch.imagenet_weights (fetched before the first trial).
BACKBONES: dict[str, Backbone] = {
    "vgg16": Backbone(name="vgg16", constructor=keras.applications.VGG16),
    "resnet50": Backbone(name="resnet50", constructor=keras.applications.ResNet50),
}


RANDOM_INIT_SEED = 1234  # `weights: none` means this one fixed random backbone per family


def reinitialize_deterministically(model: keras.Model, seed: int = RANDOM_INIT_SEED) -> None:
    """Re-draw every weight with the layer's own initializer and a fixed seed.

    ``weights: none`` then means the same random backbone in every trial (whatever the
    trial's seed), which is what lets its activations be cached across trials and makes
    "from scratch" results comparable between trials.
    """
    for index, layer in enumerate(model.layers):
        for name in ("kernel", "depthwise_kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"):
            variable = getattr(layer, name, None)
            initializer = getattr(layer, f"{name}_initializer", None)
            if variable is None or initializer is None or not hasattr(variable, "assign"):
                continue
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = seed + index
            fresh = initializer.__class__.from_config(config)
            variable.assign(fresh(tuple(variable.shape), dtype=variable.dtype))
