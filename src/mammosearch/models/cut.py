"""Where a backbone can be cut in two so that the part above takes one tensor.

Fine-tuning the top N layers only needs the activations just below them, computed once.
That works where everything above the cut reads nothing from below it but the cut
layer's own output: in VGG16 (a chain) that is every layer; in ResNet50 it is the
residual-block outputs (``convK_blockB_out``) and the stem, because inside a block the
shortcut still reads the block's input.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from mammosearch.models.freezing import countable_layers


@dataclass(frozen=True)
class CutPlan:
    cut_layer: str  # the last frozen layer; its output is what gets cached
    requested: int  # unfrozen layers asked for
    unfrozen: int  # unfrozen layers actually used (rounded to a single-input boundary)


def _inbound_layers(layer: keras.layers.Layer) -> list[str]:
    names = []
    for node in layer._inbound_nodes:  # Keras 3 functional graph (no public accessor)
        for tensor in node.input_tensors:
            names.append(tensor._keras_history.operation.name)
    return names


def single_input_cuts(backbone: keras.Model) -> list[int]:
    """Indices i into ``countable_layers`` such that layers after i read only layer i or later."""
    layers = countable_layers(backbone)
    index = {layer.name: i for i, layer in enumerate(layers)}
    earliest_read_after = [len(layers)] * len(layers)  # min index read by any layer > i
    reads = [[index.get(name, -1) for name in _inbound_layers(layer)] for layer in layers]
    running = len(layers)
    for i in range(len(layers) - 1, -1, -1):
        earliest_read_after[i] = running
        if reads[i]:
            running = min(running, min(reads[i]))
    return [i for i in range(len(layers) - 1) if earliest_read_after[i] >= i]


def plan_cut(backbone: keras.Model, requested: int) -> CutPlan:
    """Round ``requested`` unfrozen layers to the nearest single-input cut (ties: fewer layers)."""
    layers = countable_layers(backbone)
    if requested < 1 or requested > len(layers):
        from mammosearch.errors import TrialFailed

        raise TrialFailed(f"unfrozen_layers={requested} but {backbone.name} has {len(layers)} layers; choose 1..{len(layers)}")
    options = [(abs((len(layers) - 1 - i) - requested), len(layers) - 1 - i, i) for i in single_input_cuts(backbone)]
    _, unfrozen, cut = min(options)
    return CutPlan(cut_layer=layers[cut].name, requested=requested, unfrozen=unfrozen)


def top_layers_after(backbone: keras.Model, cut_layer: str) -> keras.Model:
    """The backbone above ``cut_layer`` as a model taking that layer's output (weights shared)."""
    return keras.Model(backbone.get_layer(cut_layer).output, backbone.output, name=f"{backbone.name}_top")


def bottom_until(backbone: keras.Model, cut_layer: str) -> keras.Model:
    return keras.Model(backbone.input, backbone.get_layer(cut_layer).output, name=f"{backbone.name}_bottom")
