"""The field's predictor: flip TTA built into the model, the cross-validation fold ensemble, and the report that puts them side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.config import parse_space
from mammosearch.errors import SpaceError

runner = CliRunner()

# Feature extraction on a small random VGG16 (heads on cached activations, saved as head
# weights and assembled later), 3 folds by patient, a test split, flip TTA recorded, every fold's model kept.
# The Wilcoxon pruner cannot prune with 3 folds at p < 0.1 (2**-3 = 0.125), but the trials report to it.
CV_SPACE = """
study: {name: cvpred, sampler: random, pruner: wilcoxon, n_trials: 2, seed: 5, keep_top_k: 2, keep_fold_models: true}
data: {source: synthetic, n_images: 96, image_size: 32, split: {validation: 0.25, test: 0.25, seed: 0}}
model: {families: [vgg16], heads: [gap_dropout], input_size: 32, head: {dense_units: 8}}
training: {epochs: 2, batch_size: 16, fine_tune: false}
evaluation: {cv_folds: 3, tta: flip}
"""


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cv_study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("cv_predictor")
    space = root / "cvpred.yaml"
    space.write_text(CV_SPACE, encoding="utf-8")
    results = root / "results"
    result = _invoke("run", "--space", space, "--results-dir", results)
    assert result.exit_code == 0, result.output
    images = root / "images"
    assert _invoke("data", "export", "--space", space, "-o", images).exit_code == 0
    return {"root": root, "space": space, "results": results, "images": images, "trials": results / "cvpred" / "trials"}


def _stored(cv_study: dict, trial: int = 0) -> dict:
    return json.loads((cv_study["trials"] / f"{trial:05d}" / "predictions.json").read_text())


def _csv_scores(path: Path) -> dict[str, float]:
    import csv

    with path.open(encoding="utf-8") as handle:
        return {row["source"]: float(row["probability_malignant"]) for row in csv.DictReader(handle) if row["probability_malignant"]}


# --- flip TTA as a layer -------------------------------------------------------------------------------


def _tiny_model(height: int = 12, width: int = 20):
    import keras

    inputs = keras.Input((height, width, 1))
    x = keras.layers.Conv2D(3, 3, activation="relu")(inputs)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def test_the_flip_tta_model_is_the_mean_with_the_mirror_image_and_reloads_in_safe_mode(tmp_path):
    import keras

    from mammosearch.models import applies_flip_tta, with_flip_tta, without_flip_tta

    plain = _tiny_model()
    tta = with_flip_tta(plain)
    images = np.random.default_rng(3).integers(0, 256, (6, 12, 20, 1)).astype("float32")
    expected = (plain.predict(images, verbose=0) + plain.predict(images[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(tta.predict(images, verbose=0), expected, atol=1e-7)
    # A mirror image scores exactly as the image: the mirror is exact, and the mean is symmetric.
    np.testing.assert_allclose(tta.predict(images[:, :, ::-1], verbose=0), tta.predict(images, verbose=0), atol=1e-7)
    tta.save(tmp_path / "tta.keras")
    reloaded = keras.saving.load_model(tmp_path / "tta.keras", safe_mode=True, compile=False)
    assert applies_flip_tta(reloaded) and not applies_flip_tta(plain)
    np.testing.assert_array_equal(reloaded.predict(images, verbose=0), tta.predict(images, verbose=0))
    assert without_flip_tta(tta) is plain and without_flip_tta(plain) is plain


# --- space options -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "named"), [
    ("study: {pruner: wilcoxon}", "study.pruner: wilcoxon pairs fold k"),
    ("study: {keep_fold_models: true}", "study.keep_fold_models: there are fold models only under cross-validation"),
    ("evaluation: {cv_folds: 3, tta: mirror}", "evaluation.tta: unknown value 'mirror'"),
])
def test_options_that_need_folds_or_a_known_tta_are_refused_in_one_line(text, named):
    with pytest.raises(SpaceError) as caught:
        parse_space(text, "space.yaml")
    assert named in str(caught.value) and "\n" not in str(caught.value)


# --- what a cross-validated trial stores ------------------------------------------------------------------


@pytest.mark.slow
def test_a_kept_trial_keeps_every_fold_model_and_stores_tta_and_fold_ensemble_scores(cv_study):
    from mammosearch.store import fold_dirs

    for trial in (0, 1):
        folders = fold_dirs(cv_study["trials"] / f"{trial:05d}")
        assert [f.name for f in folders[1:]] == ["fold_2", "fold_3"]
        assert all((f / "model.keras").is_file() for f in folders)  # the heads' full models, assembled when the run ended
        stored = _stored(cv_study, trial)
        assert {"out_of_fold", "out_of_fold_flip", "val_flip", "test", "test_flip", "test_fold_ensemble", "test_fold_ensemble_flip"} <= set(stored)
        for plain, flip in (("out_of_fold", "out_of_fold_flip"), ("test", "test_flip"), ("test_fold_ensemble", "test_fold_ensemble_flip")):
            assert stored[plain]["sources"] == stored[flip]["sources"]
            assert not np.allclose(stored[plain]["scores"], stored[flip]["scores"], atol=1e-6)  # phantoms are not mirror-symmetric
        assert len(stored["out_of_fold"]["sources"]) == 72 and len(stored["test"]["sources"]) == 24


@pytest.mark.slow
def test_predict_with_tta_reproduces_the_stored_tta_scores_and_tta_none_the_plain_ones(cv_study, tmp_path):
    stored = _stored(cv_study)
    for tta, split in (("flip", "val_flip"), ("none", "val")):
        out = tmp_path / f"{tta}.csv"
        result = _invoke("predict", "--study", "cvpred", "--trial", "0", "--results-dir", cv_study["results"], "--tta", tta, cv_study["images"], "-o", out)
        assert result.exit_code == 0, result.output
        computed = _csv_scores(out)
        for source, score in zip(stored[split]["sources"], stored[split]["scores"]):
            assert abs(computed[source] - score) < 1e-5, (tta, source)
        assert "within 0.0001 of the stored score" in result.output


# --- export-best --folds and --tta ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_fold_export_applies_tta_by_itself_and_reproduces_the_stored_fold_ensemble_test_scores(cv_study, tmp_path):
    import keras

    out = tmp_path / "folds"
    result = _invoke("export-best", "--results-dir", cv_study["results"], "--study", "cvpred", "--folds", "--tta", "flip", "--out", out)
    assert result.exit_code == 0, result.output
    assert "fold models with flip TTA" in result.output
    card = json.loads((out / "model_card.json").read_text())
    assert card["tta"] == "flip" and card["exported"].startswith("fold ensemble (3 models) with flip TTA")
    assert [m["fold"] for m in card["ensemble"]["members"]] == [1, 2, 3]
    assert "with flip TTA" in card["threshold"]["chosen_on"]
    assert "exported: fold ensemble (3 models)" in (out / "MODEL_CARD.md").read_text()
    best = card["trial"]
    stored = _stored(cv_study, best)
    model = keras.saving.load_model(out / "model.keras", safe_mode=True, compile=False)
    from mammosearch.models import applies_flip_tta

    assert applies_flip_tta(model)
    # predict on the export, with no --tta: the model applies it by itself
    csv = tmp_path / "p.csv"
    result = _invoke("predict", out, cv_study["images"], "-o", csv)
    assert result.exit_code == 0, result.output
    computed = _csv_scores(csv)
    expected = stored["test_fold_ensemble_flip"]
    assert all(abs(computed[s] - v) < 1e-5 for s, v in zip(expected["sources"], expected["scores"]))
    assert "24 image(s) the study scored: 24 within 0.0001" in result.output


@pytest.mark.slow
def test_export_folds_without_cross_validation_is_one_line(tiny_study, tmp_path):
    result = _invoke("export-best", "--storage", tiny_study["storage"], "--study", "tiny", "--folds", "--out", tmp_path / "x")
    assert result.exit_code != 0 and "was not cross-validated: --folds needs evaluation.cv_folds" in result.output
    assert "Traceback" not in result.output


# --- report: the predictors side by side ------------------------------------------------------------------


@pytest.mark.slow
def test_the_report_puts_single_top_k_and_fold_ensemble_with_and_without_tta_on_the_same_images(cv_study):
    from mammosearch.report import NOT_OUT_OF_FOLD

    result = _invoke("report", "--results-dir", cv_study["results"], "--study", "cvpred", "--format", "json", "--no-html")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["predictors"]
    assert [(r["predictor"].split(" (")[0], r["tta"]) for r in rows] == [
        (kind, tta) for tta in ("none", "flip") for kind in ("single model", "top-2 ensemble", "fold ensemble")]
    assert {r["test"]["images"] for r in rows} == {24}
    assert {r["selection"]["images"] for r in rows if r["selection"] != NOT_OUT_OF_FOLD} == {72}
    assert all(r["selection_on"] == "pooled out-of-fold" for r in rows)
    single_flip = next(r for r in rows if r["predictor"].startswith("single") and r["tta"] == "flip")
    from mammosearch.metrics import evaluate_predictions

    stored = _stored(cv_study, int(single_flip["predictor"].split("trial ")[1].rstrip(")")))
    assert single_flip["test"]["auc"] == evaluate_predictions(np.asarray(stored["test_flip"]["labels"]), np.asarray(stored["test_flip"]["scores"]))["auc"]


# --- explain and evaluate with --tta ----------------------------------------------------------------------


@pytest.mark.slow
def test_grad_cam_under_flip_tta_mirrors_with_the_image(cv_study):
    """The TTA model scores a mirror image as the image, so its map of the mirror image is the image's map mirrored."""
    from mammosearch.apply import load_trial, with_tta
    from mammosearch.apply.explain import cam_parts, gradcam

    bundle = with_tta(load_trial(f"sqlite:///{cv_study['results'] / 'mammosearch.db'}", "cvpred", 0), "flip")
    parts = cam_parts(bundle.model, "block3_conv3")
    assert [p.mirrored for p in parts] == [False, True]
    images = np.stack([np.asarray(Image.open(p)) for p in sorted((cv_study["images"] / "test").rglob("*.png"))[:4]])[..., None]
    maps = gradcam(parts, images, "positive")
    mirrored = gradcam(parts, images[:, :, ::-1], "positive")
    np.testing.assert_allclose(mirrored, maps[:, :, ::-1], atol=1e-4)


@pytest.mark.slow
def test_evaluate_with_tta_says_so_in_its_metrics(cv_study, tmp_path):
    out = tmp_path / "eval"
    result = _invoke("evaluate", "--study", "cvpred", "--results-dir", cv_study["results"], "--space", cv_study["space"], "--split", "test", "--tta", "flip", "--out", out)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tta"] == "flip" and metrics["model"].endswith("with flip TTA")
    stored = _stored(cv_study, 0 if "trial 0" in metrics["model"] else 1)
    from mammosearch.metrics import evaluate_predictions

    expected = evaluate_predictions(np.asarray(stored["test_flip"]["labels"]), np.asarray(stored["test_flip"]["scores"]))["auc"]
    assert abs(metrics["metrics"]["auc"] - expected) < 1e-9


@pytest.mark.slow
def test_a_bad_tta_value_is_one_line(cv_study, tmp_path):
    result = _invoke("predict", "--study", "cvpred", "--results-dir", cv_study["results"], "--tta", "rotate", cv_study["images"], "-o", tmp_path / "x.csv")
    assert result.exit_code != 0 and "--tta 'rotate': use flip or none" in result.output


# --- the Wilcoxon pruner ----------------------------------------------------------------------------------


def _reported(study, values: list[float]) -> tuple[object, list[bool]]:
    """A trial reporting ``values`` fold by fold; whether the pruner would stop it after each."""
    trial = study.ask()
    decisions = []
    for fold, value in enumerate(values):
        trial.report(value, step=fold)
        decisions.append(trial.should_prune())
    return trial, decisions


def test_the_wilcoxon_pruner_stops_a_trial_worse_on_every_fold_at_the_fold_the_run_announces():
    import optuna

    from mammosearch.search import describe_pruner, make_pruner, wilcoxon_earliest_fold

    space = parse_space("study: {pruner: wilcoxon, sampler: random}\nevaluation: {cv_folds: 5}", "space.yaml")
    study = optuna.create_study(direction="maximize", pruner=make_pruner(space))
    best = [0.80, 0.62, 0.91, 0.70, 0.85]
    trial, decisions = _reported(study, best)
    study.tell(trial, float(np.mean(best)))
    assert not any(decisions)  # the first trial has nothing to be compared with
    # Worse than the best on every fold, by differing amounts: pruned after the fourth fold, not before.
    _, decisions = _reported(study, [v - d for v, d in zip(best, (0.05, 0.02, 0.07, 0.01, 0.03))])
    assert decisions == [False, False, False, True, True]
    assert wilcoxon_earliest_fold(0.1) == 4 and "the earliest is fold 4" in describe_pruner(space)
    # Better on one of the first four folds: not pruned after four (p = 2/16), only once a fifth worse fold makes p = 2/32.
    _, decisions = _reported(study, [0.70, 0.70, 0.80, 0.60, 0.75])
    assert decisions == [False, False, False, False, True]


@pytest.mark.slow
def test_under_the_wilcoxon_pruner_each_fold_reports_its_own_auc(cv_study):
    import optuna

    study = optuna.load_study(study_name="cvpred", storage=f"sqlite:///{cv_study['results'] / 'mammosearch.db'}")
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        folds = trial.user_attrs.get("val_metrics", {}).get("fold_aucs")
        assert folds is not None and len(folds) == 3
        assert trial.intermediate_values == dict(enumerate(folds))  # not the running mean the median pruner gets


class _AskingTrial:
    """What the runner needs of an Optuna trial, recording what it is asked: a pruner that never prunes."""

    number = 0

    def __init__(self) -> None:
        self.reports: list[tuple[int, float]] = []
        self.asked = 0

    def report(self, value: float, step: int) -> None:
        self.reports.append((step, value))

    def should_prune(self) -> bool:
        self.asked += 1
        return False


@pytest.mark.slow
def test_the_pruner_is_not_asked_after_the_last_fold():
    """A trial that trained every fold is complete: pruning it then only threw its result away (4 of 5 Wilcoxon prunes in the benchmark)."""
    from mammosearch.data import load_image_set
    from mammosearch.spec import TrialOutcome
    from mammosearch.trial import TrialRunner
    from model_params import params_for

    space = parse_space("study: {pruner: wilcoxon}\ndata: {source: synthetic, n_images: 48, image_size: 32}\nevaluation: {cv_folds: 3}", "space.yaml")
    runner = TrialRunner(space, load_image_set(space.data, space.split))
    trial = _AskingTrial()
    outcome = TrialOutcome(params=params_for("cnn", batch_size=8))
    runner.run(trial, outcome)
    assert [step for step, _ in trial.reports] == [0, 1, 2] and trial.asked == 2
    assert [value for _, value in trial.reports] == list(outcome.val_metrics.fold_aucs or ())  # Wilcoxon: each fold's own AUC
