"""A node's results folder as a cache of the study's artifact store: what a reading command downloads, and when.

``report`` needs, of each kept trial not on this machine, its ``predictions.json`` (ROC
curves, subgroups, the ensemble's scores: a few kB each) and the study's fingerprint;
``export-best`` and ``predict`` then fetch the one trial's model they use (or each member's).
Files land in ``<results-dir>/<study>/`` in the layout a training node writes, claimed by
the study's name and id like any results folder, so another study's files are never used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mammosearch.models import HEAD_WEIGHTS_FILE, MODEL_FILE
from mammosearch.store.artifact_store._kept import FINGERPRINT, KeptArtifacts
from mammosearch.store.artifact_store._location import ArtifactStoreError
from mammosearch.store.artifacts import PREDICTIONS_FILE, StudyDir
from mammosearch.store.ownership import cache_study_dir
from mammosearch.store.record import study_files


def fetch_for_reading(artifacts: KeptArtifacts, study_dir: StudyDir, uid: str | None, files_by_trial: Mapping[int, Mapping[str, str]],
                      study_attrs: Mapping[str, Any]) -> None:
    """The predictions of the kept trials in ``files_by_trial`` and the study's fingerprint, where this folder lacks them."""
    missing = {number: files for number, files in files_by_trial.items()
               if PREDICTIONS_FILE in files and not (study_dir.trial_dir(number) / PREDICTIONS_FILE).is_file()}
    own = study_files(study_attrs)
    fingerprint = FINGERPRINT in own and not (study_dir.root / FINGERPRINT).is_file()
    if not missing and not fingerprint:
        return  # everything is here already: the store is not even opened
    cache_study_dir(study_dir.root.parent, study_dir.study_name, uid)
    for number, files in missing.items():
        artifacts.fetch(files, study_dir.trial_dir(number), only=[PREDICTIONS_FILE])
    if fingerprint:
        artifacts.fetch(own, study_dir.root, only=[FINGERPRINT])


def fetch_trial(artifacts: KeptArtifacts, study_dir: StudyDir, uid: str | None, number: int, files: Mapping[str, str]) -> None:
    """Every kept file of trial ``number`` (a folder's head weights only where its full model is not in the store)."""
    assembled = {name.removesuffix(MODEL_FILE) for name in files if name.endswith(MODEL_FILE)}
    wanted = [name for name in files if not (name.endswith(HEAD_WEIGHTS_FILE) and name.removesuffix(HEAD_WEIGHTS_FILE) in assembled)]
    cache_study_dir(study_dir.root.parent, study_dir.study_name, uid)
    gone = set(artifacts.fetch(files, study_dir.trial_dir(number), only=wanted))
    if not any(name in (MODEL_FILE, HEAD_WEIGHTS_FILE) and name not in gone for name in wanted):
        raise ArtifactStoreError(f"trial {number}'s kept model is no longer in the artifact store {artifacts.location.url} "
                                 "(pushed out of the top K since this command started, or removed by hand)")
