"""Which study a results folder belongs to, so one study's files are never another's.

A folder's name comes from the study's name (``artifacts.folder_name``), but a name does not
identify a study: two storages can each hold a "demo" sharing one ``--results-dir``, and a
study deleted and created again under its old name numbers its trials from 0 again, over
the old study's kept models. So a study carries a random id in its user attributes
(``record.STUDY_UID_KEY``, given on the first run that writes to its folder: older studies
get one then), and the folder holds ``study.json`` naming the study and that id.

- Writers (a run, its children and workers) call :func:`claimed_study_dir`: the folder is
  claimed if nobody has (an atomic create, so two first runs cannot both claim it), used
  if it is this study's, and refused in one line if it is another's.
- Readers (``report``, ``export-best``, ``data inspect``) call :func:`owned_study_dir`, which
  writes nothing and refuses another study's folder; a study no run has given an id yet
  is matched by name.
- :func:`check_model_owner` refuses a kept model whose folder another study claimed.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import optuna

from mammosearch.errors import StorageError
from mammosearch.store.artifacts import OWNER_FILE, StudyDir
from mammosearch.store.record import save_study_uid, study_uid_of

LOCK_FILE = ".claim.lock"


@dataclass(frozen=True)
class Owner:
    study_name: str
    study_uid: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"study_name": self.study_name, "study_uid": self.study_uid}


def study_uid(study: optuna.Study) -> str:
    """The study's id; a study without one (new, or made by an older release) is given one now (callers hold :func:`_serialized`)."""
    uid = study_uid_of(study.user_attrs)
    if uid is None:
        uid = uuid.uuid4().hex
        save_study_uid(study, uid)
    return uid


def read_owner(folder: Path) -> Owner | None:
    """The owner recorded in ``folder`` (None when no study claimed it)."""
    path = folder / OWNER_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read {path}: {exc}; if the folder is this study's, remove that file and run again") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("study_name"), str):
        raise StorageError(f"{path} does not name a study; if the folder is this study's, remove that file and run again")
    uid = raw.get("study_uid")
    return Owner(raw["study_name"], uid if isinstance(uid, str) else None)


def _refuse_other(folder: Path, owner: Owner, name: str, uid: str | None) -> None:
    same_name = owner.study_name == name
    same_id = uid is None or owner.study_uid is None or owner.study_uid == uid
    if same_name and same_id:
        return
    mine = f"'{name}'" + (f" (id {uid[:8]})" if uid else "")
    theirs = f"'{owner.study_name}'" + (f" (id {owner.study_uid[:8]})" if owner.study_uid else "")
    why = "another storage's study of the same name, or one deleted and created again" if same_name else "another study"
    raise StorageError(f"results folder {folder} belongs to {theirs}, {why}, not to study {mine}; give another --results-dir or study name, or move that folder away")


def _claim(folder: Path, owner: Owner) -> None:
    """Write ``study.json`` unless it exists: linking a finished temporary file fails when the name is taken, so only one claim wins."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".study.", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(owner.to_json(), handle, indent=2)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # as open() would make it (mkstemp makes 0600)
        os.link(tmp, folder / OWNER_FILE)
    except FileExistsError:
        pass  # claimed meanwhile: the caller checks who won
    finally:
        os.unlink(tmp)


@contextmanager
def _serialized(folder: Path) -> Iterator[None]:
    """One process at a time gives the id and claims ``folder``.

    Workers of a new study all start without an id: unserialized, each would write its own
    and the storage would keep the last, after another had claimed the folder with its own.
    Every process writing to a study's folder shares that folder, so a lock file there
    orders them (``flock``: released by the kernel when a process dies).
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock in the standard library; the claim itself stays atomic
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def claimed_study_dir(results_dir: Path, study: optuna.Study) -> StudyDir:
    """The study's folder for writing: claimed for ``study`` if free, refused if another study's."""
    study_dir = StudyDir(results_dir, study.study_name)
    try:
        with _serialized(study_dir.root):
            uid = study_uid(study)
            if read_owner(study_dir.root) is None:
                _claim(study_dir.root, Owner(study.study_name, uid))
    except OSError as exc:
        raise StorageError(f"cannot claim results folder {study_dir.root}: {exc.strerror or exc}") from None
    owner = read_owner(study_dir.root)
    assert owner is not None
    if owner.study_uid is None and owner.study_name == study.study_name:
        return study_dir  # a hand-written claim by name only
    _refuse_other(study_dir.root, owner, study.study_name, uid)
    return study_dir


def owned_study_dir(results_dir: Path, study_name: str, uid: str | None) -> StudyDir:
    """The study's folder for reading (and writing reports into), refused if another study claimed it; writes nothing."""
    study_dir = StudyDir(results_dir, study_name)
    owner = read_owner(study_dir.root)
    if owner is not None:
        _refuse_other(study_dir.root, owner, study_name, uid)
    return study_dir


def check_model_owner(model_path: Path, study_name: str, uid: str | None) -> None:
    """Refuse a kept model (``<folder>/trials/<n>/model.keras``) whose folder another study claimed."""
    trials = model_path.parent.parent
    if trials.name != "trials":
        return  # not in a results folder layout (a model placed by hand): nothing claims it
    owner = read_owner(trials.parent)
    if owner is not None:
        _refuse_other(trials.parent, owner, study_name, uid)


def cache_study_dir(results_dir: Path, study_name: str, uid: str | None) -> StudyDir:
    """The study's folder on a node that reads it from its artifact store: claimed by name and id (never writing to the study), refused if another's."""
    study_dir = owned_study_dir(results_dir, study_name, uid)
    try:
        with _serialized(study_dir.root):
            if read_owner(study_dir.root) is None:
                _claim(study_dir.root, Owner(study_name, uid))
    except OSError as exc:
        raise StorageError(f"cannot write to results folder {study_dir.root}: {exc.strerror or exc}; give a writable --results-dir") from None
    return owned_study_dir(results_dir, study_name, uid)
