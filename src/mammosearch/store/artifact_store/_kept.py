"""A study's kept files in its artifact store: uploaded when kept, removed when pushed out of the top K, fetched where read.

For labs whose nodes share no results folder. A kept trial's folder (its ``model.keras``
or head weights, ``predictions.json``, other folds' models) is uploaded with Optuna's
``upload_artifact`` while the trial runs, and the artifact ids are recorded with it
(``record/kept_files.py``); a model assembled after the trial ended is uploaded against the
study. Whichever process finds a trial pushed out of the top K removes its files from the
store (once per process: removing is idempotent, so two workers racing do no harm).
``report``, ``export-best`` and ``predict`` download what they need into their own results
folder, which is then a cache: a file already there is used as it is. A download is
written under a temporary name and renamed, so a killed one leaves nothing to trust.

Without a store nothing here runs: no store is opened, no attribute read or written.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import optuna

from mammosearch.files import write_atomically
from mammosearch.store.artifact_store._location import ArtifactStoreError, StoreLocation, open_artifact_store, parse_location
from mammosearch.store.artifacts import StudyDir
from mammosearch.store.record import recorded_store, save_assembled_files, save_store, save_study_files, save_trial_files, study_files, trial_files

if TYPE_CHECKING:
    from optuna.artifacts._protocol import ArtifactStore

FINGERPRINT = "data/fingerprint.json"  # the study's one file the report needs (per-image subgroups, photometry)


def _fail(what: str, location: StoreLocation, exc: Exception) -> ArtifactStoreError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ArtifactStoreError(f"artifact store {location.url}: cannot {what}: {reason}")


class KeptArtifacts:
    """One process's view of a study's artifact store; the store is opened (and checked) on first use."""

    def __init__(self, location: StoreLocation, writing: bool = False) -> None:
        self.location = location
        self._writing = writing
        self._opened: ArtifactStore | None = None
        self._removed: set[str] = set()  # ids this process removed (or found gone): asked once each

    @property
    def store(self) -> ArtifactStore:
        if self._opened is None:
            self._opened = open_artifact_store(self.location, writing=self._writing)
        return self._opened

    # --- training processes ------------------------------------------------------------

    def _upload(self, path: Path, owner: Any, storage: Any = None) -> str:
        from optuna.artifacts import upload_artifact

        try:
            return upload_artifact(artifact_store=self.store, file_path=str(path), study_or_trial=owner, storage=storage)
        except ArtifactStoreError:
            raise
        except Exception as exc:
            raise _fail(f"upload {path.name}", self.location, exc) from None

    def upload_kept(self, trial: Any, study: optuna.Study, number: int, trial_dir: Path) -> None:
        """Every file of a kept trial's folder, recorded with the trial (or, for another engine's trial, with the study)."""
        files = [p for p in sorted(trial_dir.rglob("*")) if p.is_file() and not p.name.startswith(".")]
        if isinstance(trial, optuna.trial.Trial):
            save_trial_files(trial, {p.relative_to(trial_dir).as_posix(): self._upload(p, trial) for p in files})
        else:
            self.upload_assembled(study, number, trial_dir, files)

    def upload_assembled(self, study: optuna.Study, number: int, trial_dir: Path, paths: Iterable[Path]) -> None:
        """Files added to a finished trial's folder (its assembled model), recorded with the study."""
        uploaded = {p.relative_to(trial_dir).as_posix(): self._upload(p, study) for p in paths}
        if uploaded:
            save_assembled_files(study, study.user_attrs, number, uploaded)

    def upload_study_file(self, study: optuna.Study, study_dir: StudyDir, relative: str) -> None:
        """One of the study's own files (the fingerprint), replacing the copy a previous set-up uploaded."""
        path = study_dir.root / relative
        if not path.is_file():
            return
        before = study_files(study.user_attrs)
        save_study_files(study, {**before, relative: self._upload(path, study)})
        if relative in before:
            self._remove(before[relative])

    def remove_dropped(self, study: optuna.Study, dropped: set[int]) -> None:
        """Remove from the store the files of the trials in ``dropped``.

        ``dropped`` is decided on one read of the complete trials (``kept_models.dropped_from``);
        a trial that completed since (another worker's) is not in it, whatever its rank: read
        again here, "complete and not kept" would remove a new best trial's files.
        """
        if not dropped:
            return
        attrs = study.user_attrs
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
            if trial.number in dropped:
                for artifact_id in trial_files(trial.user_attrs, attrs, trial.number).values():
                    self._remove(artifact_id)

    def _remove(self, artifact_id: str) -> None:
        from optuna.artifacts.exceptions import ArtifactNotFound

        if artifact_id in self._removed:
            return
        try:
            self.store.remove(artifact_id)
        except ArtifactNotFound:
            pass  # another worker removed it first
        except ArtifactStoreError:
            raise
        except Exception as exc:
            raise _fail("remove a model pushed out of the top K", self.location, exc) from None
        self._removed.add(artifact_id)

    # --- commands that read a study ----------------------------------------------------

    def fetch(self, files: Mapping[str, str], folder: Path, only: Iterable[str] | None = None) -> list[str]:
        """Download ``files`` (relative path -> id; those named in ``only``) missing from ``folder``; returns what is not in the store any more."""
        from optuna.artifacts.exceptions import ArtifactNotFound

        wanted = set(files) if only is None else set(only) & set(files)
        gone = []
        for relative in sorted(wanted):
            target = folder / relative
            if target.is_file():
                continue  # the cache: a kept trial's files never change once it is complete
            try:
                with self.store.open_reader(files[relative]) as reader:
                    write_atomically(target, functools.partial(_copy, reader))
            except ArtifactNotFound:
                gone.append(relative)  # pushed out of the top K since, or removed by hand
            except ArtifactStoreError:
                raise
            except Exception as exc:
                raise _fail(f"download {relative} into {folder}", self.location, exc) from None
        return gone


def _copy(reader: BinaryIO, target: Path) -> None:
    with target.open("wb") as out:
        shutil.copyfileobj(reader, out)


def kept_artifacts(study_attrs: Mapping[str, Any], url: str | None, writing: bool = False) -> KeptArtifacts | None:
    """The study's artifact store: ``url`` when given (another mount point of it, say), else the one its set-up recorded; None without one."""
    chosen = url or recorded_store(study_attrs)
    return None if chosen is None else KeptArtifacts(parse_location(chosen), writing)


def set_up_store(study: optuna.Study, url: str | None, study_dir: StudyDir) -> KeptArtifacts | None:
    """At set-up: check the store can be written, record it in the study (the first one given stays), upload the fingerprint."""
    kept = kept_artifacts(study.user_attrs, url, writing=True)
    if kept is None:
        return None
    kept.store  # noqa: B018 - opening checks the folder or the bucket: a bad store is one line before any work
    if recorded_store(study.user_attrs) is None:
        save_store(study, kept.location.url)
    kept.upload_study_file(study, study_dir, FINGERPRINT)
    return kept
