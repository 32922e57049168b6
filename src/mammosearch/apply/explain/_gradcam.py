"""Grad-CAM (Selvaraju et al., ICCV 2017) for the CNN, both backbones and their ensembles.

The model is cut at the target layer into two Keras models, image -> activations A and
A -> probability (the same single-input cut the activation cache uses), so the gradient
dP/dA is taken through the rest of the network by ``gradients.py`` on any backend. Each
channel of A is weighted by its mean gradient; the ReLU of the weighted sum, resized to the
image and scaled to 0..1, is the map. An ensemble's map is the mean of its members'.

The map explains the predicted class by default (Grad-CAM's own choice): for an image
scored below the threshold the gradient of P(negative) = 1 - P is used, i.e. the weights
change sign. ``target="positive"`` always explains the positive class. On phantoms the
difference is large: a small CNN's evidence for "benign" sits on the round mass, its
evidence for "malignant" is spread around it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

from mammosearch.apply.explain._gradients import gradient_of_sum
from mammosearch.errors import ApplyError


@dataclass(frozen=True)
class CamParts:
    features: Any  # keras.Model: image -> activations of the target layer
    score: Any  # keras.Model: those activations -> probability
    layer: str
    mirrored: bool = False  # flip TTA: this map is taken on the mirror image and mirrored back


def cam_parts(model: Any, layer: str | None = None) -> list[CamParts]:
    """One :class:`CamParts` per member (one for a single model); each twice, plain and mirrored, under flip TTA."""
    import keras

    from mammosearch.models import applies_flip_tta, without_flip_tta

    if applies_flip_tta(model):
        plain = cam_parts(without_flip_tta(model), layer)
        return plain + [replace(part, mirrored=True) for part in plain]
    nested = [sub for sub in model.layers if isinstance(sub, keras.Model)]
    if nested and any(isinstance(sub, keras.layers.Average) for sub in model.layers):
        return [_single(member, layer) for member in nested]  # an export-best --ensemble model
    return [_single(model, layer)]


def _single(model: Any, layer: str | None) -> CamParts:
    import keras

    from mammosearch.models import FAMILIES
    from mammosearch.models.build import backbone_of, countable_layers, feature_model, has_backbone, single_input_cuts, trainer_model

    if has_backbone(model):
        backbone = backbone_of(model)
        entry = FAMILIES.get(backbone.name)
        target = layer or (entry.gradcam_layer if entry is not None else "")
        layers = countable_layers(backbone)
        names = [item.name for item in layers]
        allowed = [names[i] for i in single_input_cuts(backbone)] + [names[-1]]
        if target not in allowed:
            shown = ", ".join(allowed[-6:])
            raise ApplyError(f"--layer {target!r} is not a layer of {backbone.name} Grad-CAM can cut at (one tensor in); try one of ...{shown}")
        features = feature_model(model, target)
        return CamParts(features, trainer_model(model, target, tuple(features.output.shape[1:])), target)
    target = layer or FAMILIES["cnn"].gradcam_layer
    names = [item.name for item in model.layers]
    if target not in names:
        convs = [item.name for item in model.layers if isinstance(item, keras.layers.Conv2D)]
        raise ApplyError(f"--layer {target!r} is not a layer of the model; its convolution layers: {', '.join(convs)}")
    index = names.index(target)
    features = keras.Model(model.input, model.get_layer(target).output)
    x = inputs = keras.Input(tuple(features.output.shape[1:]))
    for later in model.layers[index + 1 :]:  # the CNN is a chain
        x = later(x)
    return CamParts(features, keras.Model(inputs, x), target)


def _cut_points(model: Any) -> list[tuple[str, int]]:
    """(layer, smaller side of its map) for each layer of ``model`` Grad-CAM can cut at, input first."""
    import keras

    from mammosearch.models.build import backbone_of, countable_layers, has_backbone, single_input_cuts

    if has_backbone(model):
        backbone = backbone_of(model)
        layers = countable_layers(backbone)
        chosen = [layers[i] for i in single_input_cuts(backbone)] + [layers[-1]]
    else:
        chosen = [item for item in model.layers if isinstance(item, keras.layers.Conv2D)]
    sides = []
    for item in chosen:
        shape = tuple(item.output.shape)
        if len(shape) == 4 and shape[1] is not None and shape[2] is not None:
            sides.append((item.name, min(int(shape[1]), int(shape[2]))))
    return sides


def finer_layer(model: Any, enough: int = 7, least: int = 3) -> tuple[str, int] | None:
    """The deepest layer whose map is at least ``enough`` pixels a side (else ``least``): what to give ``--layer``
    when the default layer's map is too coarse to say where. None when no layer is that fine."""
    import keras

    from mammosearch.models import without_flip_tta

    model = without_flip_tta(model)
    nested = [sub for sub in model.layers if isinstance(sub, keras.Model)]
    if nested and any(isinstance(sub, keras.layers.Average) for sub in model.layers):
        model = nested[0]  # an ensemble: --layer names one layer for every member; suggest from the first
    sides = _cut_points(model)
    for side in (enough, least):
        fine = [(name, size) for name, size in sides if size >= side]
        if fine:
            return fine[-1]
    return None


def gradcam(parts: list[CamParts], pixels: np.ndarray, target: str = "predicted", threshold: float = 0.5, batch_size: int = 16) -> np.ndarray:
    """Maps ``(N, H, W)`` in 0..1 for ``pixels`` ``(N, H, W, C)`` (raw 0..255, as the model takes them).

    ``target``: ``predicted`` (each image's class at ``threshold``) or ``positive``.
    """
    if target not in ("predicted", "positive"):
        raise ApplyError(f"--target {target!r}: use predicted or positive")
    height, width = pixels.shape[1:3]
    maps = np.zeros((len(pixels), height, width), dtype="float32")
    for part in parts:
        for start in range(0, len(pixels), batch_size):
            x = pixels[start : start + batch_size].astype("float32")
            if part.mirrored:
                x = x[:, :, ::-1, :]
            activations = np.asarray(part.features.predict_on_batch(x), dtype="float32")
            grads = gradient_of_sum(functools.partial(part.score, training=False), activations)
            weights = grads.mean(axis=(1, 2))  # one weight per channel
            if target == "predicted":
                scores = np.asarray(part.score.predict_on_batch(activations), dtype="float32").reshape(-1)
                weights = weights * np.where(scores >= threshold, 1.0, -1.0)[:, None]
            cams = np.maximum((activations * weights[:, None, None, :]).sum(axis=-1), 0.0)
            resized = np.stack([_normalised(resize_map(cam, height, width)) for cam in cams])
            maps[start : start + len(x)] += resized[:, :, ::-1] if part.mirrored else resized
    return maps / len(parts)


def resize_map(cam: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.asarray(Image.fromarray(cam.astype("float32"), mode="F").resize((width, height), Image.Resampling.BILINEAR))


def _normalised(cam: np.ndarray) -> np.ndarray:
    peak = float(cam.max())
    return cam / peak if peak > 0 else cam


def peak_of(cam: np.ndarray) -> tuple[int, int]:
    """(row, column) of the map's maximum."""
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    return int(row), int(col)
