"""Transfer families: a keras.applications backbone (frozen) with a new head.

One builder for every family: the registry entry says which backbone, which preprocessing
its weights expect (VGG16/ResNet50: Keras' "caffe"; EfficientNetV2/ConvNeXt: built into the
backbone) and its weights file. The models preprocess *inside* the network with built-in
layers, so an exported model takes raw 0..255 pixels and loads in Keras safe mode without
any custom code.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from mammosearch.models.build._heads import HEAD_BUILDERS
from mammosearch.models.build._stem import PREPROCESSORS, apply_augmentation
from mammosearch.spec import TrialParams

RANDOM_INIT_SEED = 1234  # `weights: none` means this one fixed random backbone per family


def build_transfer(params: TrialParams, channels: int, *, application: str, output_layer: str, preprocessing: str) -> keras.Model:
    """Frozen ``keras.applications.<application>`` backbone + a new head (feature extraction); fine-tuning unfreezes later.

    The keyword arguments are the family's registry entry: its backbone constructor, the name of
    the backbone's last layer, and its preprocessing mode (``stem.PREPROCESSORS``).
    """
    inputs, features = build_trunk(params, channels, application=application, output_layer=output_layer, preprocessing=preprocessing)
    return with_head(inputs, features, params)


def build_trunk(
    params: TrialParams, channels: int, *, application: str, output_layer: str, preprocessing: str, reuse: bool = False
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The image input and the frozen backbone's features: all of a transfer model but its head.

    It depends on the family, ``input_size``, ``weights`` and ``augmentation`` alone, so several
    heads can be put on one trunk (``with_head``), as assembling kept heads does. With ``reuse``
    a trunk this process built earlier is handed back as built (``_reset``) instead of building
    another; only a caller that knows no model on that trunk is still in use may ask for it.
    """
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    shape = params.size.shape  # (height, width): any rectangle with each side at least the family's minimum
    key = _trunk_key(params, channels, application, preprocessing)
    kept = _BUILT.get(key) if reuse and key is not None else None
    if key is not None and kept is not None and _drawn_fits(kept.backbone, application):
        _BUILT.move_to_end(key)
        return _reset(kept)
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
        set_deterministic_random_weights(backbone, application)
    backbone.trainable = False
    inputs = keras.Input((*shape, channels), name="image")
    x = apply_augmentation(inputs, params.augmentation)
    x = PREPROCESSORS[preprocessing](x, channels)
    # training=False keeps the backbone's BatchNorm layers in inference mode, also when fine-tuning.
    features = backbone(x, training=False)
    if key is not None:
        _remember(key, _Trunk(inputs, features, backbone, application, [
            (layer, layer.get_weights(), layer.trainable) for layer in keras.Model(inputs, features, name="trunk").layers if layer is not backbone
        ]))
    return inputs, features


def with_head(inputs: keras.KerasTensor, features: keras.KerasTensor, params: TrialParams) -> keras.Model:
    """The full model: ``params``' head on a trunk's features (a new model; the trunk's layers are shared)."""
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    outputs = HEAD_BUILDERS[params.head.kind](features, params.head, seed=params.seed)
    return keras.Model(inputs, outputs, name=f"{params.family}_{params.head.kind}")


@dataclass(frozen=True)
class _Trunk:
    """A trunk as built: its tensors, its backbone, and each other layer's weights and trainable flag then."""

    inputs: keras.KerasTensor
    features: keras.KerasTensor
    backbone: keras.Model
    application: str
    stem: list[tuple[keras.layers.Layer, list[np.ndarray], bool]]


# The trunks this process built last, for ``build_trunk(reuse=True)``: assembling the kept
# heads at the end of a run puts them on a trunk a trial built instead of building a
# VGG16/ResNet50 again (0.5-1 s on 2 cores; benchmarks/demo_vs.py). Only `weights: none`
# trunks without augmentation: their weights are restored from ``_DRAWN`` (a copy, no file
# read) and they hold no random state. At most ``KEPT_TRUNKS``, each holding its backbone's
# weights (ResNet50 94 MB, VGG16 59 MB), the least recently built dropped first.
KEPT_TRUNKS = 2
_BUILT: OrderedDict[tuple[Any, ...], _Trunk] = OrderedDict()


def _trunk_key(params: TrialParams, channels: int, application: str, preprocessing: str) -> tuple[Any, ...] | None:
    if params.weights is not None or params.augmentation.enabled:
        return None
    return (application, params.size.shape, channels, preprocessing)


def _remember(key: tuple[Any, ...], trunk: _Trunk) -> None:
    _BUILT[key] = trunk
    _BUILT.move_to_end(key)
    while len(_BUILT) > KEPT_TRUNKS:
        _BUILT.popitem(last=False)


def _reset(trunk: _Trunk) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """``trunk`` as ``build_trunk`` left it: a trial may have fine-tuned its top layers and changed their trainable flags.

    The weights are those a new build copies in (``set_deterministic_random_weights``), and
    every flag is the one a new build sets, so a model on the reset trunk computes, and
    saves, what a model on a new one would (tests/models/test_trunk_reuse.py).
    """
    trunk.backbone.set_weights(_DRAWN[trunk.application])
    trunk.backbone.trainable = False  # as built: every layer of it frozen
    for layer, weights, trainable in trunk.stem:
        layer.trainable = trainable
        layer.set_weights(weights)
    return trunk.inputs, trunk.features


def forget_built_trunks() -> None:
    """Drop the trunks kept for reuse (tests that must build again)."""
    _BUILT.clear()


# `weights: none` backbones drawn in this process, by keras.applications constructor. Drawing
# one, layer by layer, costs several times copying it in (benchmarks/backbone_build.py), and
# every fine-tuning trial, activation-cache miss and assembled kept model builds one again.
# Held for the process's life: about 4 bytes a weight (ResNet50 94 MB, VGG16 59 MB).
_DRAWN: dict[str, list[np.ndarray]] = {}


def set_deterministic_random_weights(backbone: keras.Model, application: str) -> None:
    """The fixed random weights of ``reinitialize_deterministically``, drawn once per process and copied after.

    A copy is exact: the draw depends only on each layer's initializer and the fixed seed,
    never on the input size or on what was drawn before (tests/models/test_models.py holds the two equal).
    """
    if _drawn_fits(backbone, application):
        backbone.set_weights(_DRAWN[application])
        return
    reinitialize_deterministically(backbone)
    _DRAWN[application] = backbone.get_weights()


def _drawn_fits(backbone: keras.Model, application: str) -> bool:
    drawn = _DRAWN.get(application)
    return drawn is not None and [w.shape for w in drawn] == [tuple(v.shape) for v in backbone.weights]


def forget_drawn_weights() -> None:
    """Drop the process's drawn backbones (tests that must draw again), and the trunks reset from them."""
    _DRAWN.clear()
    _BUILT.clear()


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
