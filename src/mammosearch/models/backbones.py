"""Transfer families: a keras.applications backbone (frozen) with a new head.

Both VGG16 and ResNet50 use Keras' "caffe" preprocessing (RGB -> BGR, minus the ImageNet
channel means, no scaling). The models do that preprocessing *inside* the network with
built-in layers, so an exported model takes raw 0..255 pixels and loads in Keras safe
mode without any custom code. Which backbone, and its weights file: ``registry.py``.
"""

from __future__ import annotations

import keras

from mammosearch.models.heads import HEAD_BUILDERS
from mammosearch.models.stem import apply_augmentation, caffe_preprocess
from mammosearch.spec.params import TrialParams

RANDOM_INIT_SEED = 1234  # `weights: none` means this one fixed random backbone per family


def build_transfer(params: TrialParams, channels: int, application: str) -> keras.Model:
    """Frozen ``keras.applications.<application>`` backbone + a new head (feature extraction); fine-tuning unfreezes later."""
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    size = params.input_size
    constructor = getattr(keras.applications, application)
    # weights: "imagenet" (fetched before the first trial), a local file, or None.
    backbone = constructor(include_top=False, weights=params.weights, input_shape=(size, size, 3))
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
