"""A study's kept files in an artifact store (Optuna's artifact API), for clusters whose nodes share no results folder.

``--artifacts file:///shared/folder`` (Optuna's ``FileSystemArtifactStore``) or
``--artifacts s3://bucket/prefix`` (``Boto3ArtifactStore``, the ``[s3]`` extra), or
``$MAMMOSEARCH_ARTIFACTS``; recorded in the study at set-up, so workers and readers on any
node find it without being told.
"""

from mammosearch.store.artifact_store._cache import fetch_for_reading, fetch_trial
from mammosearch.store.artifact_store._kept import FINGERPRINT, KeptArtifacts, kept_artifacts, set_up_store
from mammosearch.store.artifact_store._location import ARTIFACTS_ENV, ArtifactStoreError, StoreLocation, open_artifact_store, parse_location

__all__ = [
    "ARTIFACTS_ENV",
    "FINGERPRINT",
    "ArtifactStoreError",
    "KeptArtifacts",
    "StoreLocation",
    "fetch_for_reading",
    "fetch_trial",
    "kept_artifacts",
    "open_artifact_store",
    "parse_location",
    "set_up_store",
]
