"""A trial's Keras part: compile and the two-phase fit, streamed and augmented batches, the callbacks (pruning, budget, progress, TensorBoard), scoring.

Every module here imports Keras at import; the rest of ``trial`` does not.
"""

from mammosearch.trial.fit._budget_stop import BudgetStop
from mammosearch.trial.fit._epoch_progress import EpochProgress
from mammosearch.trial.fit._pruning import PruningCallback
from mammosearch.trial.fit._streaming import training_data
from mammosearch.trial.fit._tensorboard import tensorboard_callbacks
from mammosearch.trial.fit._training import Arrays, FitResult, class_weights_for, compile_model, fit_two_phase, predict_scores, validation_metrics
from mammosearch.trial.fit._views import ViewBatches, cached_views, derived_views, view_activations, view_key

__all__ = [
    "Arrays",
    "BudgetStop",
    "EpochProgress",
    "FitResult",
    "PruningCallback",
    "ViewBatches",
    "cached_views",
    "class_weights_for",
    "compile_model",
    "derived_views",
    "fit_two_phase",
    "predict_scores",
    "tensorboard_callbacks",
    "training_data",
    "validation_metrics",
    "view_activations",
    "view_key",
]
