"""`export-best --ensemble K`: one ``.keras`` model averaging the top K trials' probabilities.

Built from built-in layers only (each member a nested model, then ``Average``), so it
loads in Keras safe mode with no custom code, takes the same raw 0..255 pixels as each
member, and outputs one probability, shape ``(None, 1)``.
"""

from __future__ import annotations

from pathlib import Path

from mammosearch.apply.card import model_card
from mammosearch.apply.export._best import ExportResult, assembled_path, write_card_text
from mammosearch.apply.export._folder import CARD_FILE, MODEL_FILE, SHA256_KEY, file_sha256, staged_export
from mammosearch.apply.export._predictor import TOP_K, mark, no_tta_scores_note, rethreshold, with_tta
from mammosearch.errors import ExportError
from mammosearch.files import write_json
from mammosearch.models import NONE
from mammosearch.report import ensemble_scores, members, selection_mean
from mammosearch.store import StudyRecord


def export_ensemble(record: StudyRecord, out_dir: Path, k: int, tta: str = NONE) -> ExportResult:
    import keras

    chosen = members(record, k)
    if len(chosen) < 2:
        raise ExportError(f"an ensemble needs at least two kept trials with the same input size; study '{record.name}' has {len(chosen)} (raise study.keep_top_k)")
    inputs = None
    outputs = []
    for row in chosen:
        path = assembled_path(record, row)
        try:
            member = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:
            raise ExportError(f"cannot load {path} in safe mode: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        member.name = f"trial_{row.number}"  # unique names: the members are nested in one model
        if inputs is None:
            inputs = keras.Input(tuple(member.input_shape[1:]), name="image")
        outputs.append(member(inputs))
    assert inputs is not None
    average = keras.layers.Average(name="ensemble_mean", dtype="float32")(outputs)
    ensemble = with_tta(keras.Model(inputs, average, name=f"ensemble_top{len(chosen)}"), tta)
    out_dir = Path(out_dir)
    scores = ensemble_scores(record, k)
    with staged_export(out_dir) as staged:
        ensemble.save(staged / MODEL_FILE)
        card = model_card(record, chosen[0], ensemble)
        card[SHA256_KEY] = file_sha256(staged / MODEL_FILE)
        card["ensemble"] = {
            "members": [{"trial": r.number, "validation_auc": r.value, "family": r.params.get("family"), "head": (r.params.get("head") or {}).get("kind")} for r in chosen],
            "combination": "mean of the members' probabilities",
            "scores": scores,
        }
        mark(card, TOP_K, tta, len(chosen))
        # The ensemble's own operating points: its mean scores (with TTA when it applies it), not its best member's.
        selection = selection_mean(record, k, tta)
        if selection is not None:
            rethreshold(card, record, selection, card["threshold"]["chosen_on"].replace(" (Youden", " with flip TTA (Youden") if tta != NONE else card["threshold"]["chosen_on"])
        elif tta != NONE:
            card["limitations"].append(no_tta_scores_note(tta))
            selection = selection_mean(record, k)
            if selection is not None:
                rethreshold(card, record, selection, card["threshold"]["chosen_on"] + ", without TTA")
        write_json(staged / CARD_FILE, card)
        write_card_text(staged, card)
        if scores:
            write_json(staged / "ensemble_scores.json", scores)
    predictions_file = out_dir / "ensemble_scores.json" if scores else None
    keras.backend.clear_session()
    return ExportResult(chosen[0].number, float(chosen[0].value or 0.0), out_dir / MODEL_FILE, out_dir / CARD_FILE, predictions_file)
