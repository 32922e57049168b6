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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mammosearch.models.cut import INPUT_SUFFIX

FLOAT = 4  # bytes of a float32
TRAINING_COPIES = 2  # each layer output kept, and its gradient (a CNN at 724 x 724 measured 1.5)
INFERENCE_COPIES = 1.25  # measured about 1.1 (VGG16 at 724 x 724, TensorFlow on CPU), with a margin
TRAINABLE_COPIES = 4  # a trainable weight, its gradient, two optimizer slots


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
