"""The memory bound built from nothing (registry figures, the CNN's and heads' shapes) holds above real builds.

A wrong number in a family's registry entry (elements per pixel, weights, output channels
or stride) makes the bound fall below what a built model holds, and a test here fail.
Sizes off a multiple of 32 matter: between multiples the per-pixel ratio rises (ResNet50
at 33 x 33 holds half as much again per pixel as at 32 x 32).
"""

from __future__ import annotations

import math

import keras
import pytest

from mammosearch.config import parse_space
from mammosearch.models import FAMILIES, build_model, family_names, memory, transfer_families
from mammosearch.spec import AugmentationParams, HeadParams, ImageSize, TrialParams
from mammosearch.trial.memory_plan import _largest_params, bound, estimate

# Square, a rectangle, and sizes between multiples of the stride.
BACKBONE_SIZES = ((32, 32), (33, 33), (96, 96), (160, 96), (100, 72))


@pytest.mark.slow
@pytest.mark.parametrize("name", transfer_families())
def test_the_registry_bounds_each_backbone_it_lists(name):
    entry = FAMILIES[name]
    params = TrialParams(family=name, input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=1, epochs=1,
                         augmentation=AugmentationParams(), head=HeadParams("gap_dropout", 0.0))
    for height, width in BACKBONE_SIZES:
        keras.backend.clear_session()
        backbone = getattr(keras.applications, entry.application)(include_top=False, weights=None, input_shape=(height, width, 3))
        layers = memory.footprints(backbone)
        (bounded,) = [layer for layer in memory.bound_layers(params, height, width, 1) if layer.name == name]
        size = f"{name} at {height} x {width}"
        assert sum(layer.elements for layer in layers) <= bounded.elements, size
        assert sum(layer.weights for layer in layers) == entry.backbone_weights, size
        rows, columns, channels = (int(d) for d in backbone.output.shape[1:])
        stride = entry.feature_stride
        assert rows <= math.ceil(height / stride) and columns <= math.ceil(width / stride) and channels == entry.feature_channels, size


def _space(family: str, size: int | str) -> str:
    return f"""
study: {{name: bound, sampler: random, pruner: none, n_trials: 1, seed: 0}}
data: {{source: synthetic, n_images: 8, image_size: 64}}
model:
  families: [{family}]
  heads: [dense_bn_dropout, gap_dropout]
  input_size: '{size}'
  cnn: {{filters: [8, 16], kernel_size: [3, 5], dense_units: [32, 64], dropout: 0.2}}
  head: {{dense_units: [64, 128], dropout: 0.2}}
training: {{epochs: 1, batch_size: [8, 16], fine_tune: [false, true], unfrozen_layers: {{low: 1, high: 4}}, cache_activations: true}}
"""


@pytest.mark.slow
@pytest.mark.parametrize("family", family_names())
@pytest.mark.parametrize("size", [32, 96, "160x96", "100x72"])
def test_the_bound_holds_above_the_estimate_of_the_built_model(family, size):
    space = parse_space(_space(family, size))
    for channels in (1, 3):
        (train, frozen), (train_bound, frozen_bound) = estimate(space, family, size, channels), bound(space, family, size, channels)
        assert train.fixed <= train_bound.fixed and train.per_image <= train_bound.per_image, (family, size, channels)
        assert (frozen is None) == (frozen_bound is None)
        if frozen is not None:
            assert frozen.fixed <= frozen_bound.fixed and frozen.per_image <= frozen_bound.per_image, (family, size, channels)
    # Loose enough to be safe, not so loose that the fast path never applies: per image, within
    # 1.5x of the whole network trained (the path a trial with augmentation takes), times what
    # rounding the size up to a multiple of the stride adds (1.7x at 100 x 72, none at 96 x 96).
    train_bound, _ = bound(space, family, size, 3)
    keras.backend.clear_session()
    height, width = ImageSize.of(size).shape
    whole = memory.training(memory.footprints(build_model(_largest_params(space, family, size), 3)), height * width * 3)
    rounding = (math.ceil(height / 32) * math.ceil(width / 32) * 32 * 32) / (height * width)
    assert whole.per_image <= train_bound.per_image <= 1.5 * rounding * whole.per_image
