"""The top-K trials' models: saved when a trial enters the top K, assembled later when cheaper.

A head trained on cached activations is saved as its weights alone (up to about 10 MB,
a dense head on ResNet50, against 60-100 MB for a full model). The full model (image in,
probability out: stem, backbone, head) is assembled from the trial's params and those
weights when the run ends, or when ``export-best`` asks for a model whose run never got
to assemble it (it was interrupted). Building and writing a VGG16/ResNet50 each time the
best trial changed cost 1-2 s a time, as long as a whole cached trial. The backbone's
weights come from the same place as during the search (the ImageNet file, a local file,
or the deterministic random initialisation of ``weights: none``), so the assembled model
computes what the trial evaluated.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna

from mammosearch.artifacts import HEAD_WEIGHTS_FILE, MODEL_FILE, StudyDir, write_atomically


def save_full_model(model: Any, trial_dir: Path) -> None:
    write_atomically(trial_dir / MODEL_FILE, lambda p: model.save(p))


def save_head_weights(head: Any, trial_dir: Path) -> None:
    """The head-only model's weights; ``model.keras`` is assembled from them later."""
    write_atomically(trial_dir / HEAD_WEIGHTS_FILE, lambda p: head.save_weights(p))


def is_pending(trial_dir: Path) -> bool:
    """A head saved alone whose full model has not been assembled yet."""
    return (trial_dir / HEAD_WEIGHTS_FILE).is_file() and not (trial_dir / MODEL_FILE).is_file()


def assemble_model(trial_dir: Path, params_json: dict[str, Any], channels: int) -> Path:
    """Write ``model.keras`` for a trial whose head was saved alone; returns its path."""
    import keras

    from mammosearch.models import build_model
    from mammosearch.models.cached import copy_head_weights, head_only_model
    from mammosearch.models.freezing import backbone_of
    from mammosearch.params import TrialParams

    params = TrialParams.from_json(json.dumps(params_json))
    full = build_model(params, channels)
    head = head_only_model(params, tuple(int(d) for d in backbone_of(full).output.shape[1:]))
    head.load_weights(trial_dir / HEAD_WEIGHTS_FILE)
    copy_head_weights(head, full)
    path = write_atomically(trial_dir / MODEL_FILE, lambda p: full.save(p))
    (trial_dir / HEAD_WEIGHTS_FILE).unlink(missing_ok=True)
    keras.backend.clear_session(free_memory=True)
    return path


def assemble_pending(study: optuna.Study, study_dir: StudyDir) -> list[int]:
    """Assemble every kept trial of ``study`` whose full model is still pending; returns their numbers."""
    channels = int(study.user_attrs.get("channels", 1))
    done = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if "model_path" in trial.user_attrs and is_pending(study_dir.trial_dir(trial.number)):
            try:
                assemble_model(study_dir.trial_dir(trial.number), trial.user_attrs["params"], channels)
            except OSError:
                continue  # the head's weights stay on disk: export-best assembles it later
            done.append(trial.number)
    return done
