"""The best trial -> ``model.keras`` + ``model_card.json``, from the model the search saved.

Nothing is retrained: the file written is the one the trial saved at its best epoch,
reloaded in Keras safe mode (no arbitrary code) to prove it loads before it is handed over.
"""

from __future__ import annotations

import importlib.metadata
import platform
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mammosearch.artifacts import write_atomically, write_json
from mammosearch.errors import ExportError
from mammosearch.results import StudyRecord, TrialRow
from mammosearch.storage import mask_url

PACKAGES = ("mammosearch", "keras", "tensorflow", "jax", "torch", "optuna", "numpy", "scikit-learn", "pillow")


@dataclass(frozen=True)
class ExportResult:
    trial: int
    value: float
    model_file: Path
    card_file: Path
    predictions_file: Path | None


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def choose_trial(record: StudyRecord, number: int | None = None) -> TrialRow:
    ranked = record.ranked()
    if not ranked:
        raise ExportError(f"study '{record.name}' has no completed trial yet; run `mammosearch run` first")
    if number is not None:
        chosen = [r for r in ranked if r.number == number]
        if not chosen:
            raise ExportError(f"trial {number} of study '{record.name}' is not a completed trial")
        return chosen[0]
    for row in ranked:
        if row.model_path is not None or row.pending_model_path is not None:
            return row
    raise ExportError(
        f"no saved model for any completed trial of study '{record.name}' "
        f"(expected under results/<study>/trials/); were the results deleted or moved?"
    )


def model_card(record: StudyRecord, row: TrialRow, keras_model: Any) -> dict[str, Any]:
    params = row.params
    input_shape = [int(d) for d in keras_model.input_shape[1:]]
    family = params.get("family")
    preprocessing = (
        "inside the model: x / 255"
        if family == "cnn"
        else "inside the model: grayscale repeated to 3 channels (RGB reordered to BGR), minus ImageNet BGR means (Keras 'caffe' mode)"
    )
    val = row.val_metrics or {}
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "study": record.name,
        "storage": mask_url(record.storage_url),
        "trial": row.number,
        "objective": {"name": "validation ROC AUC", "value": row.value, "best_epoch": row.best_epoch},
        "model": {
            "family": family,
            "head": params.get("head"),
            "fine_tune": params.get("fine_tune"),
            "unfrozen_layers": params.get("unfrozen_layers") if params.get("fine_tune") else 0,
            "backbone_weights": params.get("weights"),
            "parameters": int(keras_model.count_params()),
        },
        "hyperparameters": params,
        "input": {
            "shape": input_shape,
            "channels": input_shape[-1],
            "dtype": "float32",
            "value_range": "raw pixel values 0..255 (8-bit image), resized to the input shape",
            "preprocessing": preprocessing,
        },
        "output": "probability of malignancy, shape (None, 1)",
        "threshold": {
            "recommended": val.get("youden_threshold"),
            "chosen_on": "validation split (Youden's J)",
            "default": 0.5,
        },
        "metrics": {"validation": val, "test": row.test_metrics},
        "data": record.user_attrs.get("data_description"),
        "packages": package_versions(),
        "intended_use": "research on benign-vs-malignant lesion classification; not a medical device",
    }


def export_best(record: StudyRecord, out_dir: Path, trial_number: int | None = None) -> ExportResult:
    import keras

    row = choose_trial(record, trial_number)
    model_path = row.model_path
    if model_path is None and row.pending_model_path is not None:
        model_path = _assemble(record, row, row.pending_model_path.parent)
    if model_path is None:
        raise ExportError(f"trial {row.number} has no saved model (only the top-K trials keep theirs; see study.keep_top_k)")
    try:
        model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except Exception as exc:
        raise ExportError(f"cannot load {model_path} in safe mode: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        model_file = write_atomically(out_dir / "model.keras", lambda p: shutil.copyfile(model_path, p))
        card_file = write_json(out_dir / "model_card.json", model_card(record, row, model))
        predictions = model_path.parent / "predictions.json"  # written beside the model
        predictions_file = None
        if predictions.is_file():
            predictions_file = write_atomically(out_dir / "predictions.json", lambda p: shutil.copyfile(predictions, p))
    except OSError as exc:
        raise ExportError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    return ExportResult(row.number, float(row.value or 0.0), model_file, card_file, predictions_file)


def _assemble(record: StudyRecord, row: TrialRow, trial_dir: Path) -> Path:
    """The full model of a head kept on cached activations whose run ended before assembling it."""
    from mammosearch.kept_models import assemble_model

    try:
        return assemble_model(trial_dir, row.params, int(record.user_attrs.get("channels", 1)))
    except OSError as exc:
        raise ExportError(f"cannot assemble the model of trial {row.number} in {trial_dir}: {exc.strerror or exc}") from None
