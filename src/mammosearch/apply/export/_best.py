"""The best trial -> ``model.keras`` + ``model_card.json``, from the model the search saved.

``MODEL_CARD.md`` says the card's facts for a reviewer. The folder is written whole, then swapped in
(``export_folder.py``), and the card holds the model file's sha256. Nothing is retrained: the file written is the one the trial saved at its best epoch,
reloaded in Keras safe mode (no arbitrary code) to prove it loads before it is handed over.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mammosearch.apply.card import model_card, model_card_markdown
from mammosearch.apply.export._folder import CARD_FILE, MODEL_FILE, SHA256_KEY, file_sha256, staged_export
from mammosearch.apply.export._predictor import SINGLE, mark, no_tta_scores_note, rethreshold, tta_selection, with_tta
from mammosearch.errors import ExportError
from mammosearch.files import write_atomically, write_json
from mammosearch.models import NONE
from mammosearch.report import read_predictions
from mammosearch.store import StudyRecord, TrialRow, check_model_owner


@dataclass(frozen=True)
class ExportResult:
    trial: int
    value: float
    model_file: Path
    card_file: Path
    predictions_file: Path | None


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
        if row.kept_model_path is not None:
            return row
    missing = [row for row in ranked if row.model_missing]
    if missing:
        raise ExportError(f"no saved model of study '{record.name}' is on this machine; the best kept one, trial {missing[0].number}, is at {missing[0].missing_model_location}")
    raise ExportError(
        f"no saved model for any completed trial of study '{record.name}' "
        f"(expected under results/<study>/trials/); were the results deleted or moved?"
    )


def load_safely(model_path: Path) -> Any:
    """A saved model, loaded in Keras safe mode (no arbitrary code) to prove it loads before it is handed over."""
    import keras

    try:
        return keras.saving.load_model(model_path, safe_mode=True, compile=False)
    except Exception as exc:
        raise ExportError(f"cannot load {model_path} in safe mode: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def export_best(record: StudyRecord, out_dir: Path, trial_number: int | None = None, tta: str = NONE) -> ExportResult:
    row = choose_trial(record, trial_number)
    model_path = assembled_path(record, row)
    model = with_tta(load_safely(model_path), tta)
    out_dir = Path(out_dir)
    with staged_export(out_dir) as staged:
        if tta == NONE:
            shutil.copyfile(model_path, staged / MODEL_FILE)  # the very file the trial saved
        else:
            model.save(staged / MODEL_FILE)
        card = model_card(record, row, model)
        card[SHA256_KEY] = file_sha256(staged / MODEL_FILE)  # of the copy handed over, checked by every loader
        mark(card, SINGLE, tta)
        selection = tta_selection(read_predictions(model_path), tta)
        if selection is not None:
            rethreshold(card, record, selection, card["threshold"]["chosen_on"].replace(" (Youden", f" with {tta} TTA (Youden"))
        elif no_tta_scores_note(tta):
            card["limitations"].append(no_tta_scores_note(tta))
        write_json(staged / CARD_FILE, card)
        write_card_text(staged, card)
        predictions = model_path.parent / "predictions.json"  # written beside the model
        if predictions.is_file():
            shutil.copyfile(predictions, staged / "predictions.json")
    predictions_file = out_dir / "predictions.json"
    return ExportResult(row.number, float(row.value or 0.0), out_dir / MODEL_FILE, out_dir / CARD_FILE, predictions_file if predictions_file.is_file() else None)


def write_card_text(out_dir: Path, card: dict[str, Any]) -> Path:
    text = model_card_markdown(card)
    return write_atomically(out_dir / "MODEL_CARD.md", lambda p: p.write_text(text, encoding="utf-8"))


def assembled_path(record: StudyRecord, row: TrialRow) -> Path:
    """The trial's ``model.keras`` (fetched first from the study's artifact store when only there, assembled first when only its head was saved); refused when another study claimed its folder."""
    row = record.localized(row)
    if row.model_path is not None:
        check_model_owner(row.model_path, record.name, record.context.study_uid)
        return row.model_path
    if row.pending_model_path is not None:
        check_model_owner(row.pending_model_path, record.name, record.context.study_uid)
        return _assemble(record, row, row.pending_model_path.parent)
    if row.model_missing:
        raise ExportError(f"trial {row.number}'s model is not on this machine: {row.missing_model_location}")
    raise ExportError(f"trial {row.number} has no saved model (only the top-K trials keep theirs; see study.keep_top_k)")


def _assemble(record: StudyRecord, row: TrialRow, trial_dir: Path) -> Path:
    """The full model of a head kept on cached activations whose run ended before assembling it."""
    from mammosearch.models import assemble_model

    if row.outcome.params is None:
        raise ExportError(f"trial {row.number} has no readable params; its model cannot be assembled")
    try:
        return assemble_model(trial_dir, row.outcome.params, record.context.channels)
    except OSError as exc:
        raise ExportError(f"cannot assemble the model of trial {row.number} in {trial_dir}: {exc.strerror or exc}") from None
