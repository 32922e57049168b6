"""Transfer families: a keras.applications backbone (frozen) with a new head.

One builder for every family: the registry entry says which backbone, which preprocessing
its weights expect (VGG16/ResNet50: Keras' "caffe"; EfficientNetV2/ConvNeXt: built into the
backbone) and its weights file. The models preprocess *inside* the network with built-in
layers, so an exported model takes raw 0..255 pixels and loads in Keras safe mode without
any custom code.
"""

from __future__ import annotations

import keras

from mammosearch.models.heads import HEAD_BUILDERS
from mammosearch.models.stem import PREPROCESSORS, apply_augmentation
from mammosearch.spec.params import TrialParams

RANDOM_INIT_SEED = 1234  # `weights: none` means this one fixed random backbone per family


def build_transfer(params: TrialParams, channels: int, *, application: str, output_layer: str, preprocessing: str) -> keras.Model:
    """Frozen ``keras.applications.<application>`` backbone + a new head (feature extraction); fine-tuning unfreezes later.

    The keyword arguments are the family's registry entry: its backbone constructor, the name of
    the backbone's last layer, and its preprocessing mode (``stem.PREPROCESSORS``).
    """
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    shape = params.size.shape  # (height, width): any rectangle with each side at least the family's minimum
    constructor = getattr(keras.applications, application)
    # weights: "imagenet" (fetched before the first trial), a local file, or None. Families with
    # preprocessing built in get it from Keras (include_preprocessing defaults to True there).
    backbone = constructor(include_top=False, weights=params.weights, input_shape=(*shape, 3))
    last = backbone.layers[-1]
    if last.name != output_layer:
        # Keras auto-names it (ConvNeXt's "layer_normalization_<n>", n depending on what the
        # process built before): a fixed name keeps cache keys and Grad-CAM targets stable.
        last.name = output_layer
    if params.weights is None:
        reinitialize_deterministically(backbone)
    backbone.trainable = False
    inputs = keras.Input((*shape, channels), name="image")
    x = apply_augmentation(inputs, params.augmentation)
    x = PREPROCESSORS[preprocessing](x, channels)
    # training=False keeps the backbone's BatchNorm layers in inference mode, also when fine-tuning.
    features = backbone(x, training=False)
    outputs = HEAD_BUILDERS[params.head.kind](features, params.head, seed=params.seed)
    return keras.Model(inputs, outputs, name=f"{params.family}_{params.head.kind}")


# Each weight and where its layer keeps the initializer (Keras 3's DepthwiseConv2D keeps its
# `kernel`'s as `depthwise_initializer`).
_INITIALIZERS: dict[str, tuple[str, ...]] = {
    "kernel": ("kernel_initializer", "depthwise_initializer"),
    "depthwise_kernel": ("depthwise_kernel_initializer", "depthwise_initializer"),
    "pointwise_kernel": ("pointwise_initializer",),
    "bias": ("bias_initializer",),
    "gamma": ("gamma_initializer",),
    "beta": ("beta_initializer",),
    "moving_mean": ("moving_mean_initializer",),
    "moving_variance": ("moving_variance_initializer",),
}
_NESTED_SEED_STRIDE = 100_000  # seeds of a nested model's layers (ConvNeXt's stem) stay clear of the others


def reinitialize_deterministically(model: keras.Model, seed: int = RANDOM_INIT_SEED) -> None:
    """Re-draw every weight with the layer's own initializer and a fixed seed.

    ``weights: none`` then means the same random backbone in every trial (whatever the
    trial's seed), which is what lets its activations be cached across trials and makes
    "from scratch" results comparable between trials. Nested models (ConvNeXt's stem and
    downsampling blocks) are re-drawn too, with seeds of their own.
    """
    for index, layer in enumerate(model.layers):
        if isinstance(layer, keras.Model):
            reinitialize_deterministically(layer, seed + _NESTED_SEED_STRIDE * (index + 1))
            continue
        for name, initializer_names in _INITIALIZERS.items():
            variable = getattr(layer, name, None)
            initializer = next((getattr(layer, n) for n in initializer_names if getattr(layer, n, None) is not None), None)
            if variable is None or initializer is None or not hasattr(variable, "assign"):
                continue
            config = initializer.get_config()
            if "seed" in config:
                config["seed"] = seed + index
            fresh = initializer.__class__.from_config(config)
            variable.assign(fresh(tuple(variable.shape), dtype=variable.dtype))
