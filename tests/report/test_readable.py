"""Values as the report shows them: hyper-parameters named and rounded, the decode recipe only for decoded files."""

from __future__ import annotations

from mammosearch.data.decode import RECIPE
from mammosearch.report._importance import FEW_TRIALS, Importance
from mammosearch.report._readable import decode_text, named_params, param_name
from mammosearch.store.record import StudyContext

STORED = {  # a transfer trial's params as a run stores them (TrialParams as JSON)
    "family": "vgg16", "input_size": 224, "learning_rate": 0.0015848931924611134, "batch_size": 16, "epochs": 8,
    "augmentation": {"flip": True, "rotation": 0.05, "zoom": 0.0, "contrast": 0.1}, "class_weights": True,
    "weights": None, "cnn": None, "head": {"kind": "dense_bn_dropout", "dropout": 0.30000000000000004, "dense_units": 256},
    "fine_tune": True, "unfrozen_layers": 4, "fine_tune_learning_rate": 1.2345678e-05,
}


def test_nested_params_are_opened_named_and_rounded_not_json():
    shown = dict(named_params(STORED))
    assert shown["learning rate"] == "0.00158" and shown["fine-tune learning rate"] == "1.23e-05"
    assert shown["head"] == "dense_bn_dropout" and shown["head dropout"] == "0.3" and shown["head dense units"] == "256"
    assert shown["augmentation: flip"] == "yes" and shown["augmentation: rotation (share of a turn)"] == "0.05"
    assert "cnn" not in " ".join(shown) and "backbone weights" not in shown  # absent records are no settings
    assert not any("{" in value or "[" in value for value in shown.values())


def test_the_decode_recipe_is_shown_only_for_data_decoded_from_files():
    synthetic = StudyContext(decode_recipe=RECIPE, search_space={"data.source": '"synthetic"'})
    assert decode_text(synthetic) == "none: the synthetic images were generated in memory, not decoded from files"
    assert decode_text(StudyContext(decode_recipe=RECIPE, search_space={"data.source": '"mias"'})) == RECIPE
    assert decode_text(StudyContext(decode_recipe=RECIPE)) == RECIPE  # recorded before the space was: as recorded
    assert decode_text(StudyContext(search_space={"data.source": '"a-newer-source"'})) == "not recorded"


def test_importances_from_a_handful_of_trials_say_so():
    few = Importance(values={"learning_rate": 0.7, "batch_size": 0.3}, evaluator="e", trials=FEW_TRIALS - 1)
    assert few.caution is not None and f"only {FEW_TRIALS - 1} complete trials" in few.caution
    assert few.to_json()["caution"] == few.caution
    assert Importance(values={"learning_rate": 1.0}, evaluator="e", trials=FEW_TRIALS).caution is None
    assert Importance(skipped="needs at least 2", trials=1).caution is None  # nothing computed, nothing to caution


def test_optuna_parameter_names_read_as_the_params_table_names_them():
    assert [param_name(n) for n in ("learning_rate", "cnn_filters", "head_dropout", "augmentation_flip", "new_knob")] == [
        "learning rate", "CNN filters (first block)", "head dropout", "augmentation: flip", "new knob"]
