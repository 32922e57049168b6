"""Handing over what a search found: ``export-best`` (one trial, or an ensemble of the top K) into a folder
swapped in whole, with the model file's sha256 in its card.

Here rather than in ``report/``: an export assembles and saves a Keras model, and ``report/``
stays free of Keras."""

from mammosearch.apply.export._best import ExportResult, assembled_path, choose_trial, export_best
from mammosearch.apply.export._ensemble import export_ensemble
from mammosearch.apply.export._folder import CARD_FILE, MODEL_FILE, SHA256_KEY, clean_leftovers, file_sha256, staged_export
from mammosearch.apply.export._folds import export_folds

__all__ = [
    "CARD_FILE",
    "ExportResult",
    "MODEL_FILE",
    "SHA256_KEY",
    "assembled_path",
    "choose_trial",
    "clean_leftovers",
    "export_best",
    "export_ensemble",
    "export_folds",
    "file_sha256",
    "staged_export",
]
