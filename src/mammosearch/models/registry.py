"""Every model family in one entry, as timm's ``_registry`` keeps a ``_cfg`` next to each model.

An entry holds everything about a family that the rest of the tool asks: how to build it,
the preprocessing inside the model (for the model card), the keras.applications backbone
and its output layer (what feature extraction caches), and the ImageNet weights file
(name, URL, hash). Adding a backbone from keras.applications is one entry here; the
generic transfer builder in ``backbones.py`` does the rest.

Free of Keras at import: the coordinating process (which never loads TensorFlow) reads
family names and weights files from here; the builders import Keras when called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mammosearch.spec.params import TrialParams

ModelBuilder = Callable[["TrialParams", int], Any]

_KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications"
CAFFE = (
    "inside the model: grayscale repeated to 3 channels (RGB reordered to BGR), "
    "minus ImageNet BGR means (Keras 'caffe' mode)"
)


@dataclass(frozen=True)
class WeightsFile:
    name: str  # the "notop" file Keras caches under $KERAS_HOME/models
    url: str
    md5: str


def _build_cnn(params: TrialParams, channels: int) -> Any:
    from mammosearch.models.cnn import build_cnn

    return build_cnn(params, channels)


def _build_transfer(params: TrialParams, channels: int) -> Any:
    from mammosearch.models.backbones import build_transfer

    application = FAMILIES[params.family].application
    assert application is not None
    return build_transfer(params, channels, application)


@dataclass(frozen=True)
class Family:
    name: str
    build: ModelBuilder
    preprocessing: str  # what the model does to raw 0..255 pixels, as the model card says it
    application: str | None = None  # keras.applications constructor of the backbone
    output_layer: str | None = None  # the backbone's last layer: its output is what feature extraction caches
    imagenet: WeightsFile | None = None  # no-top ImageNet weights, downloaded by Keras on first use
    # Layers a no-top weights file of this family must hold, with their kernel shapes: how a
    # file meant for another family (or another Keras layout) is told apart before training.
    weight_markers: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # Grad-CAM's default target: the last convolutional feature map with spatial extent
    # (the usual choice: the most semantic layer that still says where).
    gradcam_layer: str = ""

    @property
    def transfer(self) -> bool:
        return self.application is not None


FAMILIES: dict[str, Family] = {
    "cnn": Family("cnn", _build_cnn, preprocessing="inside the model: x / 255", gradcam_layer="conv3"),
    "vgg16": Family(
        "vgg16", _build_transfer, CAFFE, application="VGG16", output_layer="block5_pool", gradcam_layer="block5_conv3",
        imagenet=WeightsFile(
            "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            f"{_KERAS_APPLICATIONS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "6d6bbae143d832006294945121d1f1fc",
        ),
        weight_markers=(("block1_conv1", (3, 3, 3, 64)), ("block5_conv3", (3, 3, 512, 512))),
    ),
    "resnet50": Family(
        "resnet50", _build_transfer, CAFFE, application="ResNet50", output_layer="conv5_block3_out", gradcam_layer="conv5_block3_out",
        imagenet=WeightsFile(
            "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            f"{_KERAS_APPLICATIONS}/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "4d473c1dd8becc155b73f8504c6f6626",
        ),
        weight_markers=(("conv1_conv", (7, 7, 3, 64)), ("conv5_block3_3_conv", (1, 1, 512, 2048))),
    ),
}

# Classifier heads a transfer family can carry (their builders: heads.py).
HEADS: tuple[str, ...] = ("dense_bn_dropout", "gap_dropout")


def family_names() -> tuple[str, ...]:
    return tuple(FAMILIES)


def transfer_families() -> tuple[str, ...]:
    return tuple(name for name, entry in FAMILIES.items() if entry.transfer)


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})") from None


def build_model(params: TrialParams, channels: int) -> Any:
    """The full model of ``params``: raw 0..255 pixels in, probability of malignancy out."""
    return family(params.family).build(params, channels)
