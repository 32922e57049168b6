"""The top-K trials' models: which trials are kept, saving them, and assembling pending ones.

The top-K decision lives here alone (:func:`top_k`): the search keeps a trial's model when
it ranks in the top K and drops the models pushed out; ``results.py`` uses the same rule
to tell a missing model from one that was dropped.

A head trained on cached activations is saved as its weights alone; its full model is
assembled when the run ends, or when ``export-best`` asks for a model whose run never
got to assemble it (it was interrupted). Building and writing a VGG16/ResNet50 each time
the best trial changed cost 1-2 s a time, as long as a whole cached trial.
"""
from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import optuna

from mammosearch.errors import TrialFailed
from mammosearch.files import write_json
from mammosearch.models import HEAD_WEIGHTS_FILE, MODEL_FILE, assemble_models
from mammosearch.spec import Trained, TrialOutcome, TrialParams
from mammosearch.store.artifact_store import ArtifactStoreError, KeptArtifacts
from mammosearch.store.artifacts import StudyDir
from mammosearch.store.record import context_of, from_user_attrs


def top_k(scored: Iterable[tuple[int, float]], k: int) -> set[int]:
    """The numbers of the ``k`` best ``(trial number, value)`` pairs; ties go to the earlier trial."""
    ranked = sorted(scored, key=lambda item: (-item[1], item[0]))
    return {number for number, _ in ranked[:k]}


def completed_values(study: optuna.Study) -> list[tuple[int, float]]:
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [(t.number, float(t.value)) for t in trials if t.value is not None]


def dropped_from(completed: Iterable[tuple[int, float]], keep: set[int]) -> set[int]:
    """The trials of ``completed`` outside ``keep``: out of the top K for good, since later trials can only push them further down."""
    return {number for number, _ in completed if number not in keep}


FOLDS_DIR = "folds"


def fold_dirs(trial_dir: Path) -> list[Path]:
    """Where a kept trial's fold models are: the trial folder itself (fold 1), then ``folds/fold_2`` .. ``fold_k`` (``study.keep_fold_models``)."""
    folds = trial_dir / FOLDS_DIR
    others = sorted((p for p in folds.glob("fold_*") if p.is_dir()), key=lambda p: int(p.name.removeprefix("fold_"))) if folds.is_dir() else []
    return [trial_dir, *others]


def save_fold_models(trained: Trained, trial_dir: Path) -> None:
    """Folds 2..k's models of a kept trial (nothing unless ``study.keep_fold_models``)."""
    for index, save in enumerate(trained.fold_models, start=2):
        fold_dir = trial_dir / FOLDS_DIR / f"fold_{index}"
        fold_dir.mkdir(parents=True, exist_ok=True)
        save(fold_dir)


def keep_if_top_k(study: optuna.Study, number: int, value: float, outcome: TrialOutcome, trained: Trained, study_dir: StudyDir, k: int,
                  artifacts: KeptArtifacts | None = None, trial: Any = None) -> None:
    """Save this trial's model (setting ``outcome.model_path``) when it ranks in the top K; drop models pushed out.

    With an artifact store the kept folder is uploaded too (recorded with ``trial``), and
    the files of trials pushed out are removed from the store as from this node's folder.
    """
    completed = completed_values(study)
    keep = top_k(completed + [(number, value)], k)
    if number in keep:
        trial_dir = study_dir.trial_dir(number)
        try:
            write_json(study_dir.predictions_path(number), trained.predictions)
            trained.save_model(trial_dir)
            save_fold_models(trained, trial_dir)
        except OSError as exc:
            raise TrialFailed(f"cannot save the trial's model under {trial_dir}: {exc.strerror or exc}") from None
        if artifacts is not None:
            try:
                artifacts.upload_kept(trial, study, number, trial_dir)
            except ArtifactStoreError as exc:
                raise TrialFailed(f"kept, but not uploaded: {exc}") from None
        outcome.model_path = str(study_dir.model_path(number))
        outcome.model_host = socket.gethostname()
    # A finished trial cannot be updated, so "dropped" is derived later from the file
    # being gone for a trial outside the top K (see results.py).
    dropped = dropped_from(completed, keep)
    for other in dropped:
        if study_dir.trial_dir(other).exists():
            study_dir.drop_model(other)
    if artifacts is not None:
        artifacts.remove_dropped(study, dropped)


def sweep_dropped(study: optuna.Study, artifacts: KeptArtifacts | None, k: int) -> None:
    """At the end of a process's trials: remove from the store what a trial finishing at the same time pushed out of the top K."""
    if artifacts is not None:
        completed = completed_values(study)
        artifacts.remove_dropped(study, dropped_from(completed, top_k(completed, k)))


def is_pending(trial_dir: Path) -> bool:
    """A head saved alone whose full model has not been assembled yet."""
    return (trial_dir / HEAD_WEIGHTS_FILE).is_file() and not (trial_dir / MODEL_FILE).is_file()


def assemble_pending(study: optuna.Study, study_dir: StudyDir, reuse_trunks: bool = False,
                     artifacts: KeptArtifacts | None = None) -> list[int]:
    """Assemble every kept trial of ``study`` whose full model (or a kept fold's) is still pending; returns their numbers.

    ``reuse_trunks``: this process's trials are over, so the trunks they built may carry the heads (``models.saving.assemble_models``).
    """
    channels = context_of(study.user_attrs).channels
    trial_of: dict[Path, int] = {}
    heads: list[tuple[Path, TrialParams]] = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        outcome = from_user_attrs(trial.user_attrs)
        trial_dir = study_dir.trial_dir(trial.number)
        pending = [d for d in fold_dirs(trial_dir) if is_pending(d)]
        if outcome.model_path is None or outcome.params is None or not pending:
            continue
        for folder in pending:
            trial_of[folder] = trial.number
            heads.append((folder, outcome.params))
    if not heads:
        return []
    # One trunk per family, size, weights and augmentation, however many heads go on it. A head
    # that cannot be assembled (OSError) stays on disk: export-best assembles it later.
    outcomes = assemble_models(heads, channels, reuse_trunks)
    failed = {trial_of[folder] for folder, written in outcomes if isinstance(written, OSError)}
    if artifacts is not None:
        for folder, written in outcomes:
            if not isinstance(written, OSError):
                number = trial_of[folder]
                artifacts.upload_assembled(study, number, study_dir.trial_dir(number), [written])
    return sorted({number for number in trial_of.values() if number not in failed})
