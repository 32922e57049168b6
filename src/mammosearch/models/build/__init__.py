"""Building Keras models: backbones, heads, the stem, the CNN, freezing, the activation cut and the cached-activation models.

Every module here imports Keras; the rest of ``models`` (the registry, memory bounds, weights files) does not.
"""

from mammosearch.models.build._backbones import RANDOM_INIT_SEED, build_transfer, build_trunk, reinitialize_deterministically, with_head
from mammosearch.models.build._cached import copy_head_weights, feature_model, head_only_model, output_cut, trainer_model
from mammosearch.models.build._cnn import build_cnn
from mammosearch.models.build._cut import cut_tensor, deepest_cut, layers_between, lies_below, plan_cut, single_input_cuts
from mammosearch.models.build._freezing import backbone_of, countable_layers, freeze_backbone, has_backbone, unfreeze_top_layers
from mammosearch.models.build._stem import augmentation_layers

__all__ = [
    "RANDOM_INIT_SEED",
    "augmentation_layers",
    "backbone_of",
    "build_cnn",
    "build_transfer",
    "build_trunk",
    "copy_head_weights",
    "countable_layers",
    "cut_tensor",
    "deepest_cut",
    "feature_model",
    "freeze_backbone",
    "has_backbone",
    "head_only_model",
    "layers_between",
    "lies_below",
    "output_cut",
    "plan_cut",
    "reinitialize_deterministically",
    "single_input_cuts",
    "trainer_model",
    "unfreeze_top_layers",
    "with_head",
]
