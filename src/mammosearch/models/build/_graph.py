"""Finding the parts of a full model: its keras.applications backbone, the layers counted, what feeds it.

Keras is imported inside the functions (they only ever get Keras models), so importing this
module loads no backend.
"""

from __future__ import annotations

from typing import Any


def backbone_of(model: Any) -> Any:
    """The nested keras.applications model (named after its family: vgg16, resnet50, convnext_tiny)."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"model {model.name!r} has no backbone (only transfer families have one)")


def backbone_input(model: Any) -> Any:
    """The tensor the full model feeds its backbone (the stem's output), whatever layer made it."""
    backbone = backbone_of(model)
    return backbone._inbound_nodes[-1].input_tensors[0]  # Keras 3 functional graph (no public accessor)


def has_backbone(model: Any) -> bool:
    import keras

    return any(isinstance(layer, keras.Model) for layer in model.layers)


def countable_layers(backbone: Any) -> list[Any]:
    """The layers that ``unfrozen_layers`` counts: every layer but the input."""
    import keras

    return [layer for layer in backbone.layers if not isinstance(layer, keras.layers.InputLayer)]
