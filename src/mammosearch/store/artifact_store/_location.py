"""An artifact store's URL -> Optuna's artifact store: ``file:///shared/path`` or ``s3://bucket/prefix``.

The file-system store (Optuna's ``FileSystemArtifactStore``) needs nothing beyond the
standard library; ``s3://`` uses Optuna's ``Boto3ArtifactStore`` and needs boto3 (the
``[s3]`` extra). Its endpoint and credentials come from boto3's own configuration
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
an instance role): a URL carrying credentials is refused, so none ever reaches a command
line, a job's recorded arguments or the study. Transient failures are retried with
Optuna's ``Backoff``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlsplit

from mammosearch.errors import StorageError
from mammosearch.settings import ARTIFACTS_ENV

if TYPE_CHECKING:
    from optuna.artifacts._protocol import ArtifactStore

# Like MAMMOSEARCH_STORAGE: a job script sets it once for every command of every node.
_RETRIES = 6  # Optuna's Backoff: 0.1, 0.2, ... 3.2 s between tries, about 6 s in all


class ArtifactStoreError(StorageError):
    """The artifact store named by ``--artifacts`` (or recorded in the study) cannot be used."""


@dataclass(frozen=True)
class StoreLocation:
    """Where a study's kept files go: a folder (``file``) or a bucket and key prefix (``s3``)."""

    scheme: str
    place: str  # file: the absolute folder; s3: the bucket
    prefix: str = ""  # s3: the keys' prefix, without slashes at either end

    @property
    def url(self) -> str:
        """The URL as recorded in the study and shown in messages (it never holds a credential)."""
        if self.scheme == "file":
            return Path(self.place).as_uri()
        return f"s3://{self.place}/{self.prefix}" if self.prefix else f"s3://{self.place}"


def parse_location(url: str) -> StoreLocation:
    """``file:///abs/folder`` (or a plain path, made absolute) or ``s3://bucket[/prefix]``; anything else is one line."""
    text = url.strip()
    if not text:
        raise ArtifactStoreError(f"--artifacts is empty: give file:///shared/folder or s3://bucket/prefix (or unset {ARTIFACTS_ENV})")
    if "://" not in text:
        return StoreLocation("file", str(Path(text).expanduser().absolute()))
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise ArtifactStoreError(f"--artifacts {text}: a file store is file:///absolute/folder (three slashes: a path on this machine, shared with the others)")
        return StoreLocation("file", str(Path(parts.path)))
    if parts.scheme == "s3":
        if "@" in parts.netloc:
            raise ArtifactStoreError("--artifacts: the s3:// URL carries credentials; remove them and set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                                     "or AWS_PROFILE in the environment (a URL ends up in logs and in the study)")
        if not parts.netloc:
            raise ArtifactStoreError(f"--artifacts {text}: name the bucket, s3://bucket/prefix")
        return StoreLocation("s3", parts.netloc, parts.path.strip("/"))
    raise ArtifactStoreError(f"--artifacts {text}: unknown scheme {parts.scheme!r}; use file:///shared/folder or s3://bucket/prefix")


class _Prefixed:
    """An artifact store whose ids live under a key prefix (``s3://bucket/prefix``): Optuna's Boto3 store writes at the bucket's root."""

    def __init__(self, backend: ArtifactStore, prefix: str) -> None:
        self._backend = backend
        self._prefix = prefix

    def _key(self, artifact_id: str) -> str:
        return f"{self._prefix}/{artifact_id}" if self._prefix else artifact_id

    def open_reader(self, artifact_id: str) -> BinaryIO:
        return self._backend.open_reader(self._key(artifact_id))

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        self._backend.write(self._key(artifact_id), content_body)

    def remove(self, artifact_id: str) -> None:
        self._backend.remove(self._key(artifact_id))


def open_artifact_store(location: StoreLocation, *, writing: bool = False) -> ArtifactStore:
    """Optuna's store for ``location``, checked now (folder there, bucket reachable) so a bad one is one line before any work."""
    from optuna.artifacts import Backoff, FileSystemArtifactStore

    if location.scheme == "file":
        folder = Path(location.place)
        if not folder.is_dir():
            raise ArtifactStoreError(f"artifact store {location.url}: no such folder on this machine; create it on the shared file system, "
                                     "or give --artifacts with the path where this node mounts it")
        if writing and not os.access(folder, os.W_OK | os.X_OK):
            raise ArtifactStoreError(f"artifact store {location.url}: this user cannot write to {folder}")
        return FileSystemArtifactStore(folder)
    return Backoff(_Prefixed(_boto3_store(location), location.prefix), max_retries=_RETRIES)


def _boto3_store(location: StoreLocation) -> ArtifactStore:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ArtifactStoreError(f"artifact store {location.url} needs boto3: pip install 'mammosearch[s3]'") from None
    from optuna.artifacts import Boto3ArtifactStore

    # Endpoint, region and credentials from boto3's own configuration (AWS_ENDPOINT_URL, AWS_PROFILE, ...).
    client = boto3.client("s3", config=Config(connect_timeout=10, retries={"max_attempts": 3}))
    try:
        client.head_bucket(Bucket=location.place)
    except Exception as exc:
        raise ArtifactStoreError(f"artifact store {location.url}: {_why(exc)}") from None
    return Boto3ArtifactStore(location.place, client)


def _why(exc: Any) -> str:
    """botocore's failure in words (its messages name the endpoint and bucket, never a secret)."""
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in the environment"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"):
        return f"cannot reach the object store ({exc}); check AWS_ENDPOINT_URL and the network"
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    if code in ("404", "NoSuchBucket"):
        return "no such bucket; create it first"
    if code in ("403", "AccessDenied"):
        return "access denied to the bucket with these credentials"
    return str(exc).splitlines()[0] if str(exc) else name
