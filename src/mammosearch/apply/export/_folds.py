"""`export-best --folds`: the chosen trial's cross-validation fold models as one model averaging their probabilities.

The field's predictor (nnU-Net's default; the RSNA 2023 winners): every fold model trained
on (k-1)/k of the pool, together they have seen all of it. Built like the top-K ensemble
(nested members, then ``Average``: built-in layers only, Keras safe mode), with flip TTA
around it on ``--tta flip``. It needs the folds' models, which a search keeps only under
``study.keep_fold_models: true`` (k times the kept trial's disk and save time).

Its threshold is chosen on the pooled out-of-fold scores, each image scored by the one
fold model that did not train on it: there is no out-of-fold score of the ensemble itself
(every image trained k-1 of its members), so those are the nearest honest stand-in.
Its test scores, when the study has a test split, are the ensemble's own.
"""

from __future__ import annotations

from pathlib import Path

from mammosearch.apply.card import model_card
from mammosearch.apply.export._best import ExportResult, assembled_path, choose_trial, load_safely, write_card_text
from mammosearch.apply.export._folder import CARD_FILE, MODEL_FILE, SHA256_KEY, file_sha256, staged_export
from mammosearch.apply.export._predictor import FOLDS, mark, no_tta_scores_note, rethreshold, tta_selection, with_tta
from mammosearch.errors import ExportError
from mammosearch.files import write_json
from mammosearch.models import NONE
from mammosearch.report import read_predictions
from mammosearch.store import StudyRecord, fold_dirs, is_pending

# predictions.json of a fold export: only what the ensemble itself computed, its test scores ("test", as predict compares them).
_RECORDS = {"test": "test_fold_ensemble", "test_flip": "test_fold_ensemble_flip"}


def export_folds(record: StudyRecord, out_dir: Path, trial_number: int | None = None, tta: str = NONE) -> ExportResult:
    import keras

    from mammosearch.models import assemble_model

    row = choose_trial(record, trial_number)
    fold_aucs = row.val_metrics.fold_aucs if row.val_metrics is not None else None
    if not fold_aucs:
        raise ExportError(f"trial {row.number} of study '{record.name}' was not cross-validated: --folds needs evaluation.cv_folds; export the single model")
    first = assembled_path(record, row)
    folders = fold_dirs(first.parent)
    n_folds = len(fold_aucs)
    if len(folders) != n_folds:
        raise ExportError(f"trial {row.number} kept {len(folders)} of its {n_folds} fold models: --folds needs them all, which a search keeps "
                          "under study.keep_fold_models: true (k times the disk); run the search with it, or export the single model")
    assert row.outcome.params is not None  # assembled_path refuses a trial without params
    inputs = None
    outputs = []
    for index, folder in enumerate(folders, start=1):
        path = assemble_model(folder, row.outcome.params, record.context.channels) if is_pending(folder) else folder / MODEL_FILE
        member = load_safely(path)
        member.name = f"fold_{index}"  # unique names: the members are nested in one model
        if inputs is None:
            inputs = keras.Input(tuple(member.input_shape[1:]), name="image")
        outputs.append(member(inputs))
    assert inputs is not None
    ensemble = keras.Model(inputs, keras.layers.Average(name="fold_mean", dtype="float32")(outputs), name=f"fold_ensemble_{n_folds}")
    model = with_tta(ensemble, tta)
    predictions = read_predictions(first)
    out_dir = Path(out_dir)
    with staged_export(out_dir) as staged:
        model.save(staged / MODEL_FILE)
        card = model_card(record, row, model)
        card[SHA256_KEY] = file_sha256(staged / MODEL_FILE)
        mark(card, FOLDS, tta, n_folds)
        card["ensemble"] = {
            "members": [{"trial": row.number, "fold": i, "validation_auc": auc, "family": row.params.get("family"),
                         "head": (row.params.get("head") or {}).get("kind")} for i, auc in enumerate(fold_aucs, start=1)],
            "combination": "mean of the fold models' probabilities",
        }
        selection = tta_selection(predictions, tta)
        if selection is not None:
            rethreshold(card, record, selection, f"pooled out-of-fold predictions with {tta} TTA (Youden's J)")
        elif no_tta_scores_note(tta):
            card["limitations"].append(no_tta_scores_note(tta))
        card["limitations"].append("threshold chosen on each image's own fold model's out-of-fold score: the ensemble itself has no out-of-fold score")
        write_json(staged / CARD_FILE, card)
        write_card_text(staged, card)
        stored = {name: predictions[key] for name, key in _RECORDS.items() if key in predictions}
        if stored:
            write_json(staged / "predictions.json", stored)
    keras.backend.clear_session()
    predictions_file = out_dir / "predictions.json"
    return ExportResult(row.number, float(row.value or 0.0), out_dir / MODEL_FILE, out_dir / CARD_FILE, predictions_file if predictions_file.is_file() else None)
