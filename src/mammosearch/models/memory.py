"""How much memory one batch takes, estimated from a model's layer output shapes and weights.

Analytic, without running a batch: building a model at 1024 x 512 is cheap, running a
batch that does not fit is what this is meant to prevent. Per image of a batch:

* training keeps every layer's output for the backward pass and makes a gradient of the
  same size for each (``TRAINING_COPIES`` float32 copies of all layer outputs);
* inference (a frozen pass) holds every layer's output too: Keras' functional call keeps
  each intermediate tensor until the pass returns (measured: VGG16 at 724 x 724 grows by
  about the sum of its layer outputs per image, ResNet50 likewise), so
  ``INFERENCE_COPIES`` (with a margin) times the sum of the outputs.

Independent of the batch: the weights, and when training the gradient and two optimizer
slots (Adam's moments) of each trainable weight. On a CPU the figures are compared with
the measured resident-set growth of one batch in ``benchmarks/batch_memory.py``; the
README quotes how close they come.

``bound_layers`` gives the same kind of figures without building anything: an upper bound
of a model's layers from its family's registry entry (the backbone) and from the custom CNN's
and the heads' shapes (analytic), so that a space whose largest batch obviously fits is
planned in microseconds; only one that may not fit is built and estimated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mammosearch.models.registry import INPUT_SUFFIX

if TYPE_CHECKING:
    from mammosearch.spec import CnnParams, HeadParams, TrialParams

FLOAT = 4  # bytes of a float32
TRAINING_COPIES = 2  # each layer output kept, and its gradient (a CNN at 724 x 724 measured 1.5)
INFERENCE_COPIES = 1.25  # measured about 1.1 (VGG16 at 724 x 724, TensorFlow on CPU), with a margin
TRAINABLE_COPIES = 4  # a trainable weight, its gradient, two optimizer slots
# The layers between the image and a backbone, at most: four augmentation layers of the
# image's channels, and two preprocessing layers of three channels (stem.py) with their few weights.
AUGMENTATION_LAYERS = 4
PREPROCESSING_ELEMENTS_PER_PIXEL = 6
PREPROCESSING_WEIGHTS = 32


@dataclass(frozen=True)
class LayerFootprint:
    name: str
    elements: int  # output elements per image
    weights: int  # weight elements (trainable or not)


@dataclass(frozen=True)
class BatchMemory:
    """Bytes a batch needs: ``fixed`` (whatever the batch size) plus ``per_image`` for each image in it."""

    fixed: int
    per_image: int

    def at(self, batch: int) -> int:
        return self.fixed + self.per_image * batch

    def largest_batch(self, budget: int) -> int:
        """The largest batch within ``budget`` bytes (0: not even one image)."""
        return max(0, (budget - self.fixed) // self.per_image) if self.per_image > 0 else 2**31


def elements(tensors: Any) -> int:
    """Elements per image of a tensor (or a list of them), the batch axis left out."""
    items = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return sum(math.prod(int(d or 1) for d in t.shape[1:]) for t in items)


def footprints(model: Any) -> list[LayerFootprint]:
    """Every layer of ``model`` in order, a nested model (the backbone) expanded into its layers.

    Read from each layer's first node: call this on a freshly built model, before a model
    on part of it (the cached path's trainer) adds nodes of other shapes.
    """
    import keras

    found: list[LayerFootprint] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += footprints(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            output = layer._inbound_nodes[0].output_tensors  # Keras 3 functional graph (no public accessor)
            found.append(LayerFootprint(layer.name, elements(output), sum(math.prod(w.shape) for w in layer.weights)))
    return found


def split_at(layers: Sequence[LayerFootprint], cut: str) -> tuple[list[LayerFootprint], list[LayerFootprint]]:
    """``layers`` below and including ``cut`` (a cut name of ``models.cut``), and those above it."""
    names = [layer.name for layer in layers]
    if cut.endswith(INPUT_SUFFIX):
        index = names.index(cut[: -len(INPUT_SUFFIX)])  # the cut tensor is its reader's input
    else:
        index = names.index(cut) + 1
    return list(layers[:index]), list(layers[index:])


def training(layers: Sequence[LayerFootprint], input_elements: int, trainable: Sequence[LayerFootprint] | None = None) -> BatchMemory:
    """One training step through ``layers``, whose ``trainable`` ones (default: all) update their weights."""
    weights = sum(layer.weights for layer in layers)
    updated = sum(layer.weights for layer in (layers if trainable is None else trainable))
    per_image = FLOAT * (input_elements + TRAINING_COPIES * sum(layer.elements for layer in layers))
    return BatchMemory(FLOAT * (weights + (TRAINABLE_COPIES - 1) * updated), per_image)


def inference(layers: Sequence[LayerFootprint], input_elements: int) -> BatchMemory:
    """One forward pass through ``layers`` with nothing trained (a frozen backbone's pass)."""
    kept = sum(layer.elements for layer in layers)
    return BatchMemory(FLOAT * sum(layer.weights for layer in layers), int(FLOAT * (input_elements + INFERENCE_COPIES * kept)))


def input_elements(model: Any) -> int:
    return elements(model.inputs)


def _pooled(length: int, times: int) -> int:
    for _ in range(times):
        length //= 2  # MaxPooling2D(2), valid padding
    return length


def _cnn_layers(height: int, width: int, channels: int, cnn: CnnParams) -> list[LayerFootprint]:
    """The custom CNN's layers (models/cnn.py: 3 x conv + pool, flatten, dense), from its shapes."""
    found = [LayerFootprint("scale_0_1", height * width * channels, 0)]
    reads = channels
    for block, filters in enumerate((cnn.filters, cnn.filters * 2, cnn.filters * 4), start=1):
        kernel = cnn.kernel_size * cnn.kernel_size * reads * filters + filters
        found.append(LayerFootprint(f"conv{block}", _pooled(height, block - 1) * _pooled(width, block - 1) * filters, kernel))
        found.append(LayerFootprint(f"pool{block}", _pooled(height, block) * _pooled(width, block) * filters, 0))
        reads = filters
    flat = found[-1].elements
    found.append(LayerFootprint("flatten", flat, 0))
    found += _dense_top(flat, cnn.dense_units, "dense", "dropout")
    return found


def _dense_top(features: int, units: int, *names: str) -> list[LayerFootprint]:
    """Dense(units) on ``features`` elements, the layers after it of ``units`` each, and the sigmoid output."""
    dense, *after = names
    return [LayerFootprint(dense, units, features * units + units)] + [
        LayerFootprint(name, units, 4 * units if name.endswith("_bn") else 0) for name in after
    ] + [LayerFootprint("malignancy", 1, units + 1)]


def _head_layers(head: HeadParams, features: int, feature_channels: int) -> list[LayerFootprint]:
    """A head's layers (models/heads.py) on a backbone output of ``features`` elements with ``feature_channels``."""
    if head.kind == "dense_bn_dropout":
        units = int(head.dense_units or 0)
        return [LayerFootprint("head_flatten", features, 0)] + _dense_top(features, units, "head_dense", "head_bn", "head_dropout")
    # gap_dropout (and, as an upper bound, any head that pools before its output)
    return [LayerFootprint("head_gap", feature_channels, 0), LayerFootprint("head_dropout", feature_channels, 0),
            LayerFootprint("malignancy", 1, feature_channels + 1)]


def bound_layers(params: TrialParams, height: int, width: int, channels: int) -> list[LayerFootprint]:
    """An upper bound of ``footprints(build_model(params, channels))`` at ``height`` x ``width``, built from nothing.

    Every augmentation layer counted, whether ``params`` asks for it or not: the bound holds
    for any augmentation of the space. A backbone is one entry, its registry figures applied
    to the input rounded up to a multiple of its stride (layer outputs only grow with the input).
    """
    from mammosearch.models.registry import family

    augmentation = [LayerFootprint(f"augmentation{i}", height * width * channels, 0) for i in range(AUGMENTATION_LAYERS)]
    entry = family(params.family)
    if not entry.transfer:
        if params.cnn is None:
            raise ValueError("the cnn family needs `params.cnn`")
        return augmentation + _cnn_layers(height, width, channels, params.cnn)
    if params.head is None:
        raise ValueError(f"the {params.family} family needs `params.head`")
    stride = entry.feature_stride
    rows, columns = -(-height // stride), -(-width // stride)
    backbone = LayerFootprint(entry.name, math.ceil(entry.elements_per_pixel * rows * stride * columns * stride), entry.backbone_weights)
    preprocessing = LayerFootprint("preprocessing", PREPROCESSING_ELEMENTS_PER_PIXEL * height * width, PREPROCESSING_WEIGHTS)
    return augmentation + [preprocessing, backbone] + _head_layers(params.head, rows * columns * entry.feature_channels, entry.feature_channels)
