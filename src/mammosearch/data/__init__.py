"""Images in: sources, the decode path, the decoded-image cache, patient-grouped splits and folds."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what mypy and a reader see; at run time each name loads on first use (mammosearch/lazy.py)
    from mammosearch.data._trivial_baseline import trivial_baseline
    from mammosearch.data.base import SPLIT_NAMES, DataSpec, ImageSet, Provenance
    from mammosearch.data.baselines import evaluate_on_folds, evaluated_on, study_folds
    from mammosearch.data.budget import max_pixels
    from mammosearch.data.export_images import export_image_set, file_name
    from mammosearch.data.file_names import link_problem, resolved, shown
    from mammosearch.data.folds import Fold, cross_validation_folds
    from mammosearch.data.loading import load_image_set
    from mammosearch.data.phantoms import generate_synthetic, lesion_circles
    from mammosearch.data.pixels import Decoded
    from mammosearch.data.prepare import Prepared, prepare_file
    from mammosearch.data.registry import SOURCES, data_keys, source
    from mammosearch.data.sources.cbis_ddsm import CbisDdsmSpec
    from mammosearch.data.sources.csv import CsvSpec
    from mammosearch.data.sources.folder import FolderSpec, load_folder
    from mammosearch.data.sources.mias import MiasRow, MiasSpec, parse_info
    from mammosearch.data.sources.synthetic import SyntheticSpec
    from mammosearch.data.split import SplitSpec, check_no_patient_leakage
    from mammosearch.data.task import Task
else:
    from mammosearch.lazy import lazy_attributes

    __getattr__, __dir__ = lazy_attributes(
        __name__,
        {
            "_trivial_baseline": ("trivial_baseline",),
            "base": ("DataSpec", "ImageSet", "Provenance", "SPLIT_NAMES"),
            "baselines": ("evaluate_on_folds", "evaluated_on", "study_folds"),
            "budget": ("max_pixels",),
            "export_images": ("export_image_set", "file_name"),
            "file_names": ("link_problem", "resolved", "shown"),
            "folds": ("Fold", "cross_validation_folds"),
            "loading": ("load_image_set",),
            "phantoms": ("generate_synthetic", "lesion_circles"),
            "pixels": ("Decoded",),
            "prepare": ("Prepared", "prepare_file"),
            "registry": ("SOURCES", "data_keys", "source"),
            "sources.cbis_ddsm": ("CbisDdsmSpec",),
            "sources.csv": ("CsvSpec",),
            "sources.folder": ("FolderSpec", "load_folder"),
            "sources.mias": ("MiasRow", "MiasSpec", "parse_info"),
            "sources.synthetic": ("SyntheticSpec",),
            "split": ("SplitSpec", "check_no_patient_leakage"),
            "task": ("Task",),
        },
    )

__all__ = [
    "CbisDdsmSpec",
    "CsvSpec",
    "DataSpec",
    "Decoded",
    "Fold",
    "FolderSpec",
    "ImageSet",
    "MiasRow",
    "MiasSpec",
    "Prepared",
    "Provenance",
    "SOURCES",
    "SPLIT_NAMES",
    "SplitSpec",
    "SyntheticSpec",
    "Task",
    "check_no_patient_leakage",
    "cross_validation_folds",
    "data_keys",
    "evaluate_on_folds",
    "evaluated_on",
    "export_image_set",
    "file_name",
    "generate_synthetic",
    "lesion_circles",
    "link_problem",
    "load_folder",
    "load_image_set",
    "max_pixels",
    "parse_info",
    "prepare_file",
    "resolved",
    "shown",
    "source",
    "study_folds",
    "trivial_baseline",
]
