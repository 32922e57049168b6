"""Every model family in one entry, as timm's ``_registry`` keeps a pretrained ``_cfg`` next to each model.

An entry holds, as data, everything about a family that the rest of the tool asks: how to
build it, which preprocessing the backbone's weights expect (``caffe``, ``torch``, ``tf``,
or built into the Keras model), the smallest input it takes, where its activations may be
cut (block boundaries, as a pattern over cut names: ``models/cut.py``), whether fine-tuning
rounds ``unfrozen_layers`` to whole blocks, and its ImageNet weights file (name, URL, the
hash Keras pins). Adding a backbone from keras.applications is one entry here; the generic
transfer builder in ``backbones.py`` does the rest.

Free of Keras at import: the coordinating process (which never loads TensorFlow) reads
family names and weights files from here; the builders import Keras when called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from mammosearch.spec import TrialParams

ModelBuilder = Callable[["TrialParams", int], Any]
# Where 0..255 pixels become what the backbone's weights expect (keras.applications'
# ``imagenet_utils.preprocess_input`` modes, plus "model": the backbone does it itself).
PreprocessingMode = Literal["caffe", "torch", "tf", "model"]

_KERAS_APPLICATIONS = "https://storage.googleapis.com/tensorflow/keras-applications"
# An activation cut is named by a layer (its output) or by a layer + this suffix (the tensor
# that layer reads). Here, not beside the cutting code (build/, Keras), so the memory bound
# splits layers at a cut without loading a backend.
INPUT_SUFFIX = ":input"
PREPROCESSING_TEXT: dict[str, str] = {
    "caffe": "inside the model: grayscale repeated to 3 channels (RGB reordered to BGR), "
    "minus ImageNet BGR means (Keras 'caffe' mode)",
    "torch": "inside the model: grayscale repeated to 3 channels, x / 255, minus ImageNet means, "
    "divided by ImageNet standard deviations (Keras 'torch' mode)",
    "tf": "inside the model: grayscale repeated to 3 channels, x / 127.5 - 1 (Keras 'tf' mode)",
    "model": "inside the model: grayscale repeated to 3 channels; the backbone's own preprocessing "
    "layers (keras.applications include_preprocessing=True) take raw 0..255 pixels",
}


@dataclass(frozen=True)
class WeightsFile:
    name: str  # the "notop" file Keras caches under $KERAS_HOME/models
    url: str
    hash: str  # as pinned in keras.applications (WEIGHTS_HASHES or the constructor's file_hash)

    @property
    def algorithm(self) -> str:
        """md5 or sha256, told apart by length as Keras' ``file_hash(algorithm="auto")`` does."""
        return "sha256" if len(self.hash) == 64 else "md5"


def _build_cnn(params: TrialParams, channels: int) -> Any:
    from mammosearch.models.build import build_cnn

    return build_cnn(params, channels)


def _build_transfer(params: TrialParams, channels: int) -> Any:
    from mammosearch.models.build import build_transfer

    return build_transfer(params, channels, **_backbone_of_entry(params.family))


def _backbone_of_entry(name: str) -> dict[str, str]:
    entry = FAMILIES[name]
    assert entry.application is not None and entry.output_layer is not None
    return {"application": entry.application, "output_layer": entry.output_layer, "preprocessing": entry.preprocessing_mode}


@dataclass(frozen=True)
class Family:
    name: str
    build: ModelBuilder
    preprocessing_mode: PreprocessingMode
    # keras.applications constructor of the backbone. The family's name is the name Keras gives
    # that backbone model (vgg16, efficientnetv2-b0, convnext_tiny): a built model leads back here.
    application: str | None = None
    # The backbone's last layer: its output is what feature extraction caches. Keras leaves
    # some unnamed (ConvNeXt's final LayerNormalization): the builder gives it this name.
    output_layer: str | None = None
    min_input_size: int = 0  # keras.applications refuses smaller inputs (its obtain_input_shape min_size)
    # Cut names (models/cut.py: a layer's name = its output; "<layer>:input" = what that layer
    # reads) where activations may be cached and fine-tuning may start: the family's block
    # boundaries. Only points the graph check confirms are used (a test holds the two together).
    cut_points: str = ".+"
    # "layers": unfrozen_layers counts layers (rounded to a cut only on the cached path);
    # "blocks": both paths round it to the nearest whole block, so they train the same layers.
    fine_tune_by: Literal["layers", "blocks"] = "layers"
    imagenet: WeightsFile | None = None  # no-top ImageNet weights, downloaded by Keras on first use
    # Layers a no-top weights file of this family must hold, with their first array's shape: how a
    # file meant for another family (or another Keras layout) is told apart before training.
    weight_markers: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # Grad-CAM's default target: the last feature map with spatial extent
    # (the usual choice: the most semantic layer that still says where).
    gradcam_layer: str = ""
    preprocessing_note: str = ""  # the model card's words, where the mode's own text does not fit
    # An upper bound of the backbone's memory without building it (models/memory.py's bound,
    # used by trial/memory_plan.py): the sum of its layers' output elements per input pixel,
    # measured at min_input_size with a 1% margin and applied to the input rounded up to a
    # multiple of feature_stride (at a multiple the ratio is largest at the smallest size;
    # between multiples it is not: ResNet50 holds 741 per pixel at 32 x 32, 1,151 at 33 x 33);
    # its weight count (whatever the input size); its output's stride and channels (what a
    # head reads). A test builds every family and holds these numbers above the real ones.
    elements_per_pixel: float = 0.0
    backbone_weights: int = 0
    feature_stride: int = 32
    feature_channels: int = 0

    @property
    def transfer(self) -> bool:
        return self.application is not None

    @property
    def preprocessing(self) -> str:
        """What the model does to raw 0..255 pixels, as the model card says it."""
        return self.preprocessing_note or PREPROCESSING_TEXT[self.preprocessing_mode]


def _keras_file(folder: str, name: str, digest: str) -> WeightsFile:
    return WeightsFile(name, f"{_KERAS_APPLICATIONS}/{folder}/{name}", digest)


FAMILIES: dict[str, Family] = {
    "cnn": Family("cnn", _build_cnn, "model", preprocessing_note="inside the model: x / 255", gradcam_layer="conv3"),
    "vgg16": Family(
        "vgg16", _build_transfer, "caffe", application="VGG16", output_layer="block5_pool",
        elements_per_pixel=304, backbone_weights=14_714_688, feature_channels=512,  # measured 300.5 at 32 x 32
        min_input_size=32, cut_points=".+",  # a chain: every layer is a block boundary
        imagenet=_keras_file("vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc"),
        weight_markers=(("block1_conv1", (3, 3, 3, 64)), ("block5_conv3", (3, 3, 512, 512))),
        gradcam_layer="block5_conv3",
    ),
    "resnet50": Family(
        "resnet50", _build_transfer, "caffe", application="ResNet50", output_layer="conv5_block3_out",
        elements_per_pixel=749, backbone_weights=23_587_712, feature_channels=2048,  # measured 741.5
        min_input_size=32, cut_points=r"(conv1|pool1)_\w+|conv\d_block\d+_(add|out)",  # the stem, and residual-block ends
        imagenet=_keras_file("resnet", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "4d473c1dd8becc155b73f8504c6f6626"),
        weight_markers=(("conv1_conv", (7, 7, 3, 64)), ("conv5_block3_3_conv", (1, 1, 512, 2048))),
        gradcam_layer="conv5_block3_out",
    ),
    "efficientnetv2-b0": Family(
        "efficientnetv2-b0", _build_transfer, "model", application="EfficientNetV2B0", output_layer="top_activation", min_input_size=32, fine_tune_by="blocks",
        elements_per_pixel=361, backbone_weights=5_919_312, feature_channels=1280,  # measured 356.9
        # Block ends (the residual add, or the projection of a block without one) and the stem;
        # the top (top_conv, top_bn, top_activation) is the last block.
        cut_points=r"stem_activation|block\d[a-z]_(add|project_bn|project_activation)",
        imagenet=_keras_file("efficientnet_v2", "efficientnetv2-b0_notop.h5", "893217f2bb855e2983157299931e43ff"),
        weight_markers=(("stem_conv", (3, 3, 3, 32)), ("top_conv", (1, 1, 192, 1280))),
        gradcam_layer="top_activation",
    ),
    "convnext_tiny": Family(
        "convnext_tiny", _build_transfer, "model", application="ConvNeXtTiny", output_layer="convnext_tiny_top_layernorm", min_input_size=32, fine_tune_by="blocks",
        elements_per_pixel=594, backbone_weights=27_820_128, feature_channels=768,  # measured 587.3
        # A block ends in `inputs + x` (an operation, not a layer), so the cut is named by what reads it.
        cut_points=r"convnext_tiny_(stem|downsampling_block_\d)|convnext_tiny_\w+_(depthwise_conv|block_\d|layernorm):input",
        imagenet=_keras_file(
            "convnext", "convnext_tiny_notop.h5", "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"
        ),
        weight_markers=(
            ("convnext_tiny_stage_0_block_0_pointwise_conv_1", (96, 384)),
            ("convnext_tiny_stage_3_block_2_pointwise_conv_2", (3072, 768)),
        ),
        gradcam_layer="convnext_tiny_top_layernorm",
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


def family_of_backbone(backbone_name: str) -> Family | None:
    """The entry whose keras.applications backbone Keras names ``backbone_name`` (None: not one of ours)."""
    entry = FAMILIES.get(backbone_name)
    return entry if entry is not None and entry.transfer else None


def build_model(params: TrialParams, channels: int) -> Any:
    """The full model of ``params``: raw 0..255 pixels in, probability of malignancy out."""
    return family(params.family).build(params, channels)


def build_trunk(params: TrialParams, channels: int, reuse: bool = False) -> tuple[Any, Any]:
    """A transfer family's image input and backbone features, for several heads to share (``backbones.with_head``).

    ``reuse``: a trunk this process built before, reset to how it was built (``backbones.build_trunk``).
    """
    from mammosearch.models.build import build_trunk as build

    if not family(params.family).transfer:
        raise ValueError(f"the {params.family} family has no backbone to share")
    return build(params, channels, **_backbone_of_entry(params.family), reuse=reuse)
