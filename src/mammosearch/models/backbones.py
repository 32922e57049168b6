"""ImageNet backbones: which keras.applications constructor, which weights file, which preprocessing.

Both VGG16 and ResNet50 use Keras' "caffe" preprocessing (RGB -> BGR, minus the ImageNet
channel means, no scaling). The mammosearch models do that preprocessing *inside* the
network with built-in layers, so an exported model takes raw 0..255 pixels and loads in
Keras safe mode without any custom code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import keras

from mammosearch.errors import SpaceError

CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class Backbone:
    name: str
    constructor: Callable[..., keras.Model]
    weights_file: str  # the "notop" file Keras caches under $KERAS_HOME/models
    weights_url: str
    weights_md5: str
    preprocessing: str = "caffe"


_GCS = "https://storage.googleapis.com/tensorflow/keras-applications"

BACKBONES: dict[str, Backbone] = {
    "vgg16": Backbone(
        name="vgg16",
        constructor=keras.applications.VGG16,
        weights_file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_url=f"{_GCS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_md5="6d6bbae143d832006294945121d1f1fc",
    ),
    "resnet50": Backbone(
        name="resnet50",
        constructor=keras.applications.ResNet50,
        weights_file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_url=f"{_GCS}/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_md5="4d473c1dd8becc155b73f8504c6f6626",
    ),
}


def keras_models_dir() -> Path:
    """Where Keras caches downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def ensure_imagenet_weights(family: str) -> Path:
    """Make sure the ImageNet weights of ``family`` are on disk, downloading them if needed.

    Called once before the first trial, so an offline machine fails with one clear line
    (which file, which URL, where to put it) instead of failing every trial.
    """
    backbone = BACKBONES[family]
    target = keras_models_dir() / backbone.weights_file
    if target.is_file():
        return target
    try:
        fetched = keras.utils.get_file(
            backbone.weights_file,
            backbone.weights_url,
            cache_subdir="models",
            file_hash=backbone.weights_md5,
        )
    except Exception as exc:  # network errors come in many types; all mean the same here
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = text.rsplit(" -- ", 1)[-1]  # Keras prefixes the URL, which the message names anyway
        raise SpaceError(
            f"ImageNet weights for {family} are not at {target} and could not be downloaded "
            f"({reason}): download {backbone.weights_url} and place it at {target}, "
            f"or set `model.weights` to none or to a local weights file"
        ) from None
    return Path(fetched)


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
