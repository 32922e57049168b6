"""Model families as data: the registry, memory bounds, ImageNet weights files, saving, test-time augmentation.

Builders take typed params and never import optuna. This face holds only what loads no
backend, so reading the registry does not load Keras; building, freezing and cutting Keras
models is the sub-package ``models.build`` (its own face), which the registry's builders
import when called.
"""

from mammosearch.models import memory, registry
from mammosearch.models.registry import FAMILIES, HEADS, build_model, family, family_names, transfer_families
from mammosearch.models.saving import HEAD_WEIGHTS_FILE, MODEL_FILE, assemble_model, assemble_models, save_full_model, save_head_weights
from mammosearch.models.tta import FLIP, NONE, TTA_CHOICES, applies_flip_tta, mirror_images, with_flip_tta, without_flip_tta
from mammosearch.models.weights import check_weights_file, ensure_imagenet_weights, fetch_imagenet, imagenet_status

__all__ = [
    "FAMILIES",
    "FLIP",
    "HEADS",
    "HEAD_WEIGHTS_FILE",
    "MODEL_FILE",
    "NONE",
    "TTA_CHOICES",
    "applies_flip_tta",
    "assemble_model",
    "assemble_models",
    "build_model",
    "check_weights_file",
    "ensure_imagenet_weights",
    "family",
    "family_names",
    "fetch_imagenet",
    "imagenet_status",
    "memory",
    "mirror_images",
    "registry",
    "save_full_model",
    "save_head_weights",
    "transfer_families",
    "with_flip_tta",
    "without_flip_tta",
]
