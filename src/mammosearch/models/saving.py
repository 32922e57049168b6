"""A trained model on disk: the full model, or a cached-activation head's weights alone.

A head trained on cached activations is saved as its weights (up to about 10 MB, a dense
head on ResNet50, against 60-100 MB for a full model); :func:`assemble_model` later
builds the full model (stem, backbone, head) from the trial's params and those weights.
The backbone's weights come from the same place as during the search (the ImageNet file,
a local file, or the deterministic random initialisation of ``weights: none``), so the
assembled model computes what the trial evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mammosearch.files import write_atomically
from mammosearch.spec import TrialParams

MODEL_FILE = "model.keras"
HEAD_WEIGHTS_FILE = "head.weights.h5"


def save_full_model(model: Any, trial_dir: Path) -> None:
    write_atomically(trial_dir / MODEL_FILE, lambda p: model.save(p))


def save_head_weights(head: Any, trial_dir: Path) -> None:
    """The head-only model's weights; ``model.keras`` is assembled from them later."""
    write_atomically(trial_dir / HEAD_WEIGHTS_FILE, lambda p: head.save_weights(p))


def assemble_model(trial_dir: Path, params: TrialParams, channels: int) -> Path:
    """Write ``model.keras`` for a trial whose head was saved alone; returns its path (OSError: it could not)."""
    written = assemble_models([(trial_dir, params)], channels)[0][1]
    if isinstance(written, OSError):
        raise written
    return written


def assemble_models(pending: Sequence[tuple[Path, TrialParams]], channels: int, reuse_trunks: bool = False) -> list[tuple[Path, Path | OSError]]:
    """``model.keras`` for each trial folder whose head was saved alone: its path, or the OSError that stopped it.

    Heads whose trunks are the same (family, input size, weights, augmentation) go on one
    built trunk: a kept head costs a head and a save, not another backbone. With
    ``reuse_trunks`` (a run whose trials are over) that trunk may be one a trial of this
    process built, reset as built. A head that cannot be read or written is left on disk
    for ``export-best`` (its error returned); the others go on.
    """
    import keras

    from mammosearch.models.build import copy_head_weights, head_only_model, with_head
    from mammosearch.models.registry import build_trunk

    groups: dict[tuple[Any, ...], list[tuple[Path, TrialParams]]] = {}
    for trial_dir, params in pending:
        groups.setdefault((params.family, params.size.shape, params.weights, params.augmentation), []).append((trial_dir, params))
    done: dict[Path, Path | OSError] = {}
    for members in groups.values():
        inputs, features = build_trunk(members[0][1], channels, reuse=reuse_trunks)
        feature_shape = tuple(int(d) for d in features.shape[1:])
        for trial_dir, params in members:
            try:
                full = with_head(inputs, features, params)
                head = head_only_model(params, feature_shape)
                head.load_weights(trial_dir / HEAD_WEIGHTS_FILE)
                copy_head_weights(head, full)
                done[trial_dir] = write_atomically(trial_dir / MODEL_FILE, full.save)
                (trial_dir / HEAD_WEIGHTS_FILE).unlink(missing_ok=True)
            except OSError as exc:
                done[trial_dir] = exc
        keras.backend.clear_session(free_memory=True)
    return [(trial_dir, done[trial_dir]) for trial_dir, _ in pending]
