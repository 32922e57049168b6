"""Where a backbone can be cut in two so that the part above takes one tensor.

Fine-tuning the top N layers only needs the activations just below them, computed once.
That works where everything above the cut reads nothing from below it but the cut
tensor itself: in VGG16 (a chain) that is every layer; in ResNet50, EfficientNetV2 and
ConvNeXt it is the block boundaries, because inside a block the shortcut still reads the
block's input. The graph decides which points are possible; the family's registry entry
(``cut_points``) says which of them are its blocks.

A cut is named by the layer that makes its tensor, or, where an operation that is not a
layer makes it (ConvNeXt's ``inputs + x``), as ``"<layer>:input"`` after the first layer
that reads it: names that stay the same from one build to the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import keras

from mammosearch.models.build._graph import countable_layers
from mammosearch.models.registry import INPUT_SUFFIX, family_of_backbone


@dataclass(frozen=True)
class Cut:
    name: str  # the layer whose output is the cut tensor, or "<layer>:input"
    unfrozen: int  # countable layers above the cut


@dataclass(frozen=True)
class CutPlan:
    cut_layer: str  # the cut's name; its tensor is what gets cached
    requested: int  # unfrozen layers asked for
    unfrozen: int  # unfrozen layers actually used (rounded to a single-input boundary)


def _producers(operation: Any) -> list[Any]:
    # The first node is the backbone's own graph (Keras 3, no public accessor); a model built
    # later on part of it (the cached path's trainer) adds nodes that read other tensors.
    node = operation._inbound_nodes[0]
    return [tensor._keras_history.operation for tensor in node.input_tensors]


def all_cuts(backbone: keras.Model) -> list[Cut]:
    """Every point (bottom to top) above which the backbone reads only the tensor made there or later.

    Walks all operations, layers or not, in the graph's order: a point after operation j is
    a cut when no operation after j reads a tensor made before j.
    """
    operations = [op for op in backbone._operations if not isinstance(op, keras.layers.InputLayer)]
    position = {id(op): i for i, op in enumerate(operations)}
    reads = [[position.get(id(p), -1) for p in _producers(op)] for op in operations]
    is_layer = [isinstance(op, keras.layers.Layer) for op in operations]
    layers_after = [0] * len(operations)
    for i in range(len(operations) - 2, -1, -1):
        layers_after[i] = layers_after[i + 1] + int(is_layer[i + 1])
    cuts: list[Cut] = []
    earliest_read = len(operations)  # the earliest position any operation after j reads
    candidates: list[int] = []
    for j in range(len(operations) - 1, -1, -1):
        if j < len(operations) - 1 and earliest_read >= j:
            candidates.append(j)
        if reads[j]:
            earliest_read = min(earliest_read, min(reads[j]))
    for j in reversed(candidates):
        name = _cut_name(operations, reads, j, is_layer)
        if name is not None:
            cuts.append(Cut(name, layers_after[j]))
    return cuts


def _cut_name(operations: list[Any], reads: list[list[int]], j: int, is_layer: list[bool]) -> str | None:
    if is_layer[j]:
        return str(operations[j].name)
    reader = next((k for k in range(j + 1, len(operations)) if is_layer[k] and j in reads[k]), None)
    return None if reader is None else f"{operations[reader].name}{INPUT_SUFFIX}"


def single_input_cuts(backbone: keras.Model) -> list[int]:
    """Indices into ``countable_layers`` of the cuts that are a layer's output (what Grad-CAM can target)."""
    index = {layer.name: i for i, layer in enumerate(countable_layers(backbone))}
    return [index[cut.name] for cut in all_cuts(backbone) if cut.name in index]


def block_cuts(backbone: keras.Model) -> list[Cut]:
    """The single-input cuts that are the family's block boundaries (its registry ``cut_points``)."""
    cuts = all_cuts(backbone)
    entry = family_of_backbone(backbone.name)
    if entry is None:
        return cuts
    pattern = re.compile(entry.cut_points)
    return [cut for cut in cuts if pattern.fullmatch(cut.name)]


def plan_cut(backbone: keras.Model, requested: int) -> CutPlan:
    """Round ``requested`` unfrozen layers to the nearest block boundary (ties: fewer layers)."""
    layers = countable_layers(backbone)
    if requested < 1 or requested > len(layers):
        from mammosearch.errors import TrialFailed

        raise TrialFailed(f"unfrozen_layers={requested} but {backbone.name} has {len(layers)} layers; choose 1..{len(layers)}")
    _, unfrozen, name = min((abs(cut.unfrozen - requested), cut.unfrozen, cut.name) for cut in block_cuts(backbone))
    return CutPlan(cut_layer=name, requested=requested, unfrozen=unfrozen)


def cut_tensor(backbone: keras.Model, cut: str) -> keras.KerasTensor:
    if cut.endswith(INPUT_SUFFIX):
        return backbone.get_layer(cut[: -len(INPUT_SUFFIX)]).input
    return backbone.get_layer(cut).output


def top_layers_after(backbone: keras.Model, cut: str) -> keras.Model:
    """The backbone above ``cut`` as a model taking the cut tensor (weights shared)."""
    return keras.Model(cut_tensor(backbone, cut), backbone.output, name=f"{backbone.name}_top")


def bottom_until(backbone: keras.Model, cut: str) -> keras.Model:
    return keras.Model(backbone.input, cut_tensor(backbone, cut), name=f"{backbone.name}_bottom")


def deepest_cut(backbone: keras.Model, largest_unfrozen: int | None) -> str:
    """The lowest cut any trial of a space needs: that of its most unfrozen layers, or the backbone's output.

    ``plan_cut`` rounds monotonically (more layers asked for, never a higher cut), so every
    trial's cut lies at or above this one and its activations can be computed from it.
    """
    if largest_unfrozen is None:
        return str(countable_layers(backbone)[-1].name)
    return plan_cut(backbone, min(largest_unfrozen, len(countable_layers(backbone)))).cut_layer


def _position(backbone: keras.Model, cut: str) -> float:
    """Where ``cut``'s tensor lies in the backbone's layer order (an ``:input`` cut: just before its reader)."""
    names = [layer.name for layer in backbone.layers]
    if cut.endswith(INPUT_SUFFIX):
        return names.index(cut[: -len(INPUT_SUFFIX)]) - 0.5
    return float(names.index(cut))


def lies_below(backbone: keras.Model, lower: str, upper: str) -> bool:
    """Whether the layers from ``lower``'s tensor up to ``upper``'s can run on ``lower``'s tensor alone."""
    return _position(backbone, lower) < _position(backbone, upper)


def layers_between(backbone: keras.Model, lower: str, upper: str) -> keras.Model:
    """The backbone's layers from cut ``lower`` up to cut ``upper``, as a model (weights shared)."""
    return keras.Model(cut_tensor(backbone, lower), cut_tensor(backbone, upper), name=f"{backbone.name}_between")
