"""A trained model and its card, from an ``export-best`` folder or from a study's trial."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mammosearch.apply.export import SHA256_KEY, file_sha256
from mammosearch.data import Task
from mammosearch.data.decode import Framing
from mammosearch.errors import ApplyError
from mammosearch.metrics import point_name
from mammosearch.spec import ImageSize


@dataclass
class ModelBundle:
    model: Any  # a keras.Model taking raw 0..255 pixels (height, width, C) and returning (None, 1)
    card: dict[str, Any]
    origin: str  # for messages: "exported/" or "trial 3 of study demo"
    stored_predictions: dict[str, Any] = field(default_factory=dict)  # predictions.json of the trial

    @property
    def input_size(self) -> int | str:
        """The model's input size as a trial stores it: a square's side (as before), or ``"HxW"``."""
        return ImageSize(int(self.model.input_shape[1]), int(self.model.input_shape[2])).param()

    @property
    def channels(self) -> int:
        return int(self.model.input_shape[-1])

    @property
    def task(self) -> Task:
        return Task.from_json(self.card.get("task"))

    @property
    def photometry(self) -> str:
        return str((self.card.get("input") or {}).get("photometry") or "auto")

    @property
    def data_image_size(self) -> int | str:
        """``data.image_size`` as training loaded the files (a card's record; a card without it: the model's input size)."""
        return ImageSize.of((self.card.get("input") or {}).get("data_image_size") or self.input_size).param()

    @property
    def framing(self) -> Framing:
        """Crop and orientation as training applied them (none for a card that predates them, as then)."""
        return Framing.from_json((self.card.get("input") or {}).get("framing"))

    @property
    def batch_size(self) -> int:
        # The trial's own batch size: the stored predictions were computed in batches of it.
        return int((self.card.get("hyperparameters") or {}).get("batch_size") or 32)

    @property
    def threshold(self) -> float:
        recommended = (self.card.get("threshold") or {}).get("recommended")
        return float(recommended) if recommended is not None else 0.5

    @property
    def training_patient_digests(self) -> set[str]:
        return set((self.card.get("patients") or {}).get("training_sha256_16") or [])

    @property
    def tta(self) -> str:
        """``flip`` when the model averages each image with its mirror image (built in, or added by ``--tta flip``), else ``none``."""
        from mammosearch.models import FLIP, NONE, applies_flip_tta

        return FLIP if applies_flip_tta(self.model) else NONE

    def operating_threshold(self, kind: str, target: float) -> float:
        """The stored threshold for ``--sensitivity 0.90`` / ``--specificity 0.90``."""
        points = self.card.get("operating_points") or {}
        name = point_name(kind, target)
        if name not in points:
            known = ", ".join(f"--{n.replace('_', ' ')}" for n in points) or "none (the card predates operating points)"
            raise ApplyError(f"the model card of {self.origin} has no {kind} {target:.2f} operating point; stored: {known}")
        return float(points[name]["threshold"])


def with_tta(bundle: ModelBundle, tta: str | None) -> ModelBundle:
    """The bundle with flip test-time augmentation on (``flip``) or off (``none``); as exported when ``tta`` is None.

    An exported model that applies it by itself is unwrapped for ``none`` (the model inside is
    the one the card's plain scores came from); any other model is wrapped for ``flip``.
    """
    from mammosearch.models import FLIP, TTA_CHOICES, with_flip_tta, without_flip_tta

    if tta is None or tta == bundle.tta:
        return bundle
    if tta not in TTA_CHOICES:
        raise ApplyError(f"--tta {tta!r}: use {' or '.join(TTA_CHOICES)}")
    model = with_flip_tta(bundle.model) if tta == FLIP else without_flip_tta(bundle.model)
    origin = bundle.origin + (" with flip TTA" if tta == FLIP else " without its flip TTA")
    return ModelBundle(model, bundle.card, origin, bundle.stored_predictions)


def load_exported(folder: Path) -> ModelBundle:
    """An ``export-best`` folder: ``model.keras`` + ``model_card.json`` (+ ``predictions.json``)."""
    folder = Path(folder)
    model_file, card_file = folder / "model.keras", folder / "model_card.json"
    if not folder.is_dir():
        raise ApplyError(f"model folder {folder} not found; give a folder written by `mammosearch export-best`, or --study NAME --trial N")
    for needed in (model_file, card_file):
        if not needed.is_file():
            raise ApplyError(f"{folder} has no {needed.name}; give a folder written by `mammosearch export-best`, or --study NAME --trial N")
    try:
        card = json.loads(card_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApplyError(f"cannot read {card_file}: {exc}; export the model again") from None
    _check_sha256(model_file, card_file, card)
    stored = _read_json(folder / "predictions.json")
    return ModelBundle(_load_keras(model_file), card, f"{folder}", stored)


def _check_sha256(model_file: Path, card_file: Path, card: dict[str, Any]) -> None:
    """The model is the one the card describes (a card written before cards held the hash is taken as it is)."""
    expected = card.get(SHA256_KEY)
    if expected is None:
        return
    try:
        actual = file_sha256(model_file)
    except OSError as exc:
        raise ApplyError(f"cannot read {model_file}: {exc.strerror or exc}") from None
    if actual != expected:
        raise ApplyError(f"{model_file} (sha256 {actual[:16]}) is not the model {card_file} describes ({SHA256_KEY} {str(expected)[:16]}); export the model again")


def load_trial(storage_url: str, study_name: str | None, trial: int | None, results_dir: Path | None = None,
               artifacts_url: str | None = None) -> ModelBundle:
    """A kept trial of a study (the best one without ``trial``), with the card ``export-best`` would write.

    With ``results_dir``, a model kept in the study's artifact store is fetched into it first.
    """
    from mammosearch.apply.card import model_card
    from mammosearch.apply.export import assembled_path, choose_trial
    from mammosearch.store import load_study

    record = load_study(storage_url, study_name, results_dir, artifacts_url)
    row = choose_trial(record, trial)
    path = assembled_path(record, row)
    model = _load_keras(path)
    return ModelBundle(model, model_card(record, row, model), f"trial {row.number} of study {record.name}", _read_json(path.parent / "predictions.json"))


def _load_keras(path: Path) -> Any:
    import keras

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile errors, ...
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ApplyError(f"cannot load {path} in Keras safe mode: {reason}") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    except (OSError, ValueError):
        return {}
