"""Using what a search found: ``predict``, ``evaluate`` and ``explain`` on new images.

Every command loads the model through :mod:`~mammosearch.apply.bundle` (an exported
folder, or a study's trial) and feeds it through :func:`~mammosearch.data.prepare.prepare_file`,
the training decode path, so the scores equal the stored ones.
"""

from mammosearch.apply._agreement import SCORE_TOLERANCE, agreement, scores_agree
from mammosearch.apply.bundle import ModelBundle, load_exported, load_trial, with_tta
from mammosearch.apply.inputs import InputItem, gather_inputs
from mammosearch.apply.predict import Scored, range_check, score_inputs, scored_by_other_folds, stored_scores, write_predictions
from mammosearch.apply.training_range import RangeCheck

__all__ = [
    "InputItem",
    "ModelBundle",
    "RangeCheck",
    "SCORE_TOLERANCE",
    "Scored",
    "agreement",
    "gather_inputs",
    "load_exported",
    "load_trial",
    "range_check",
    "score_inputs",
    "scored_by_other_folds",
    "scores_agree",
    "stored_scores",
    "with_tta",
    "write_predictions",
]
