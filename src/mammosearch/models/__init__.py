"""Model families, heads and freezing; builders take typed params and never import optuna."""

from mammosearch.models.builders import MODEL_BUILDERS, build_model
from mammosearch.models.freezing import freeze_backbone, unfreeze_top_layers

__all__ = ["MODEL_BUILDERS", "build_model", "freeze_backbone", "unfreeze_top_layers"]
