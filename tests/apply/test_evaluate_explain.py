"""`evaluate` and `explain` on real models, the model card's new facts, and the metrics behind them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.spec import RATES, Confusion

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()

# A CNN that learns the phantoms well in a few seconds: Grad-CAM needs a model that works.
CAM_SPACE = """
study: {name: cam, sampler: random, pruner: none, n_trials: 1, seed: 0, keep_top_k: 1}
data: {source: synthetic, n_images: 400, image_size: 48, difficulty: 0.2, split: {validation: 0.25}}
model: {families: [cnn], input_size: 48, cnn: {filters: 16, kernel_size: 3, dense_units: 32, dropout: 0.2}}
training: {learning_rate: 0.001, batch_size: 16, epochs: 12}
"""


def _invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cam_model(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("cam")
    space = root / "space.yaml"
    space.write_text(CAM_SPACE, encoding="utf-8")
    results = root / "results"
    assert _invoke("run", "--space", space, "--results-dir", results).exit_code == 0
    assert _invoke("export-best", "--results-dir", results, "--out", root / "exported").exit_code == 0
    return {"root": root, "space": space, "results": results, "exported": root / "exported"}


def test_evaluate_on_a_second_synthetic_set_writes_metrics_and_plots(cam_model, tmp_path):
    out = tmp_path / "eval"
    result = _invoke("evaluate", cam_model["exported"], "--data", "source=synthetic", "--data", "seed=7", "--data", "n_images=120",
                     "--data", "image_size=48", "--data", "difficulty=0.2", "--out", out, "--results-dir", tmp_path / "r")
    assert result.exit_code == 0, result.output
    for name in ("metrics.json", "predictions.csv", "subgroups.csv", "roc.png", "precision_recall.png", "calibration.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    main = metrics["metrics"]
    assert main["n"] == 120 and metrics["patients"] == 60
    low, high = main["auc_ci95"]
    assert low <= main["auc"] <= high and main["auc"] > 0.8  # the phantoms of another seed are as easy
    card = json.loads((cam_model["exported"] / "model_card.json").read_text())
    assert main["at_youden"]["threshold"] == card["threshold"]["recommended"]  # the model's, never re-chosen here
    assert set(metrics["operating_points"]) == set(card["operating_points"])
    ci = main["at_threshold_ci95"]["sensitivity"]
    assert ci[0] <= main["at_youden"]["sensitivity"] <= ci[1]
    assert 0.0 <= main["brier"] <= 1.0 and sum(b["n"] for b in metrics["calibration"]["bins"]) == 120
    assert "AUC" in result.output and "specificity" in result.output
    # Every rate of the table (spec/rates.py), at the model's threshold and at each operating point, with its interval.
    text = " ".join(result.output.split())
    for rate in RATES:
        assert rate.label in text, rate.label
        for at in (main["at_youden"], *metrics["operating_points"].values()):
            assert rate.read(at) is not None and at[rate.key] == rate.of(Confusion.from_matrix(at["confusion_matrix"])), rate.key
        assert rate.key in main["at_threshold_ci95"] and all(rate.key in p["ci95"] for p in metrics["operating_points"].values())


def test_evaluate_refuses_data_that_shares_patients_with_training_and_lists_them(cam_model, tmp_path):
    result = _invoke("evaluate", cam_model["exported"], "--space", cam_model["space"], "--results-dir", tmp_path / "r")
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert "200 patient(s) of this data also trained or selected the model" in text and "syn0-0001" in text
    assert "Traceback" not in result.output and not (tmp_path / "r" / "evaluate").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no evaluation data"),
        (["--data", "seed"], "expected KEY=VALUE"),
        (["--data", "source=synthetic", "--split", "test"], "has no test split"),
        (["--data", "source=synthetic", "--data", "n_images=2"], "data.n_images"),
        (["--data", "source=synthetic", "--split", "everything"], "use all, train, val or test"),
    ],
)
def test_evaluate_bad_input_is_one_line(cam_model, tmp_path, args, message):
    result = _invoke("evaluate", cam_model["exported"], *args, "--results-dir", tmp_path / "r")
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def _spot_model():
    """A CNN whose weights are set by hand, so where its evidence sits is known, not learned.

    ``conv3`` has two 5x5 mean filters after a ReLU: channel 0 fires where the local mean is
    above 190 (a bright spot), channel 1 where it is below 60 (a dark spot). Global average
    pooling and a dense layer with weights +2 and -2 make a bright spot evidence for the
    positive class and a dark spot evidence for the negative one. No training, so the
    answer is the same on every machine, and any mistake in the cut, the gradient, the
    channel weights, the sign for the predicted class or the resize moves the peak.
    """
    import keras

    image = keras.Input((48, 48, 1))
    spots = keras.layers.Conv2D(2, 5, padding="same", activation="relu", name="conv3")
    pooled = keras.layers.GlobalAveragePooling2D()
    dense = keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(image, dense(pooled(spots(image))))
    kernel = np.zeros((5, 5, 1, 2), "float32")
    kernel[..., 0, 0], kernel[..., 0, 1] = 1 / 25, -1 / 25
    spots.set_weights([kernel, np.array([-190.0, 60.0], "float32")])
    dense.set_weights([np.array([[2.0], [-2.0]], "float32"), np.zeros(1, "float32")])
    return model


def _spot_images(n: int, value: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy mid-gray 48 px images, each with one disc of gray ``value`` (radius 6) at a random place."""
    rng = np.random.default_rng(seed)
    images = np.clip(rng.normal(128, 20, (n, 48, 48)), 0, 255)
    centres = rng.uniform(8, 40, (n, 2))
    rows, cols = np.mgrid[0:48, 0:48] + 0.5
    for image, (cx, cy) in zip(images, centres):
        image[(cols - cx) ** 2 + (rows - cy) ** 2 <= 36] = value
    return images[..., None].astype("uint8"), centres


def _peaks_inside(maps: np.ndarray, centres: np.ndarray) -> list[bool]:
    from mammosearch.apply.explain import peak_of

    return [(col + 0.5 - cx) ** 2 + (row + 0.5 - cy) ** 2 <= 36 for cam, (cx, cy) in zip(maps, centres) for row, col in [peak_of(cam)]]


def test_gradcam_peaks_where_a_constructed_model_keeps_its_evidence_for_the_predicted_class():
    from mammosearch.apply.explain import cam_parts, gradcam
    from mammosearch.trial.fit import predict_scores

    model = _spot_model()
    parts = cam_parts(model)  # the CNN family's default layer, conv3
    bright, bright_at = _spot_images(12, 240, seed=1)
    dark, dark_at = _spot_images(12, 15, seed=2)
    assert (predict_scores(model, bright) > 0.9).all() and (predict_scores(model, dark) < 0.1).all()
    for target in ("predicted", "positive"):
        maps = gradcam(parts, bright, target, threshold=0.5, batch_size=5)  # batches of 5: a short last batch too
        assert maps.shape == (12, 48, 48) and maps.min() >= 0.0 and np.allclose(maps.max(axis=(1, 2)), 1.0)
        assert all(_peaks_inside(maps, bright_at))
    # A negative image is explained by the evidence for "negative" (the channel weights change sign) ...
    assert all(_peaks_inside(gradcam(parts, dark, "predicted", threshold=0.5), dark_at))
    # ... while asking for the positive class finds no evidence for it anywhere.
    assert gradcam(parts, dark, "positive", threshold=0.5).max() == 0.0


def test_explain_writes_overlays_a_grid_and_the_pointing_check_on_mias_named_files(cam_model, tmp_path):
    from mammosearch.data import SyntheticSpec, generate_synthetic, lesion_circles

    # Phantoms written as mini-MIAS files, their masses as Info.txt circles (y from the bottom).
    spec = SyntheticSpec(n_images=12, image_size=48, difficulty=0.2, seed=3)
    images, _, _ = generate_synthetic(spec)
    rows = []
    for i, (image, (cx, cy, r)) in enumerate(zip(images, lesion_circles(spec)), start=1):
        Image.fromarray(image[:, :, 0]).save(tmp_path / f"mdb{i:03d}.png")
        rows.append(f"mdb{i:03d} G CIRC B {int(cx)} {47 - int(cy)} {int(round(r))}")
    (tmp_path / "Info.txt").write_text("\n".join(rows) + "\n")
    out = tmp_path / "explained"
    result = _invoke("explain", cam_model["exported"], tmp_path, "--out", out)
    assert result.exit_code == 0, result.output
    overlays = sorted((out / "overlays").glob("*.png"))
    assert len(overlays) == 12 and (out / "grid.png").stat().st_size > 0
    assert Image.open(overlays[0]).mode == "RGB"
    pointing = json.loads((out / "pointing.json").read_text())
    assert pointing["images"] == 12 and len(pointing["per_image"]) == 12
    assert 0.0 < pointing["random_peak_share"] < 0.5
    assert "pointing check" in result.output


def test_explain_refuses_a_layer_the_model_lacks(cam_model, tmp_path):
    png = tmp_path / "x.png"
    Image.fromarray(np.zeros((48, 48), np.uint8)).save(png)
    result = _invoke("explain", cam_model["exported"], png, "--layer", "block9", "--out", tmp_path / "o")
    assert result.exit_code != 0 and "conv1, conv2, conv3" in result.output


def test_the_model_card_names_the_task_the_operating_points_and_hashes_the_patients(cam_model):
    card = json.loads((cam_model["exported"] / "model_card.json").read_text())
    assert card["task"]["classes"] == {"0": "benign", "1": "malignant"}
    assert "synthetic phantom" in card["intended_use"]
    assert len(card["patients"]["training_sha256_16"]) == 200 and "syn0-0001" not in json.dumps(card["patients"])
    points = card["operating_points"]
    assert points["sensitivity_0.90"]["sensitivity"] >= 0.9 and points["specificity_0.90"]["specificity"] >= 0.9
    text = (cam_model["exported"] / "MODEL_CARD.md").read_text()
    for needed in ("## Intended use", "## Known limitations", "sensitivity_0.90", "synthetic phantoms", "split seed 0"):
        assert needed in text, needed
    # PPV / NPV at the study's own prevalence only: phantoms are no screening population.
    stated = card["predictive_values"]["prevalences"]
    assert [p["prevalence"] for p in stated] == [0.5] and "PPV / NPV at 50.0%" in text
    assert set(card["predictive_values"]["points"]) == {"recommended (Youden)", *points}


def test_the_task_follows_the_loader():
    from mammosearch.config import parse_space
    from mammosearch.data import source

    whole = parse_space("data: {source: mias, task: normal_vs_abnormal, root: /nowhere}").data
    task = source("mias").task(whole)
    assert (task.negative, task.positive, task.unit) == ("normal", "abnormal", "whole mammogram")
    screening = parse_space("data: {source: csv, path: x.csv, classes: [no cancer, cancer]}").data
    assert "cancer from no cancer" in source("csv").task(screening).intended_use


def test_operating_points_reach_their_targets_at_the_most_useful_threshold():
    from mammosearch.metrics import operating_points

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 200)
    scores = np.clip(rng.normal(0.35 + 0.3 * labels, 0.15), 0, 1)
    for name, point in operating_points(labels, scores).items():
        kind, target = name.split("_")
        predicted = scores >= point["threshold"]
        sensitivity = predicted[labels == 1].mean()
        specificity = (~predicted[labels == 0]).mean()
        assert (sensitivity if kind == "sensitivity" else specificity) >= float(target)
        assert point["sensitivity"] == pytest.approx(sensitivity) and point["specificity"] == pytest.approx(specificity)
        if kind == "sensitivity":  # no higher threshold still reaches the target
            above = scores[labels == 1] >= np.nextafter(point["threshold"], 2)
            assert above.mean() < float(target)
    assert operating_points(np.zeros(4), np.linspace(0, 1, 4)) == {}


def test_explain_and_predict_take_an_ensemble_export(tiny_study, tmp_path):
    ensemble = tmp_path / "ensemble"
    assert _invoke("export-best", "--storage", tiny_study["storage"], "--study", "tiny", "--ensemble", "2", "--out", ensemble).exit_code == 0
    card = json.loads((ensemble / "model_card.json").read_text())
    assert len(card["ensemble"]["members"]) == 2 and card["operating_points"]  # its own, from the members' mean scores
    youden = card["predictive_values"]["points"]["recommended (Youden)"][0]  # at the ensemble's own threshold, not a member's
    assert youden["ppv"] is not None and 0.0 <= youden["ppv"] <= 1.0 and set(card["predictive_values"]["points"]) == {"recommended (Youden)", *card["operating_points"]}
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    result = _invoke("explain", ensemble, *(tmp_path / f"img{i}.png" for i in range(3)), "--out", tmp_path / "explained")
    assert result.exit_code == 0, result.output
    assert "conv3" in result.output and len(list((tmp_path / "explained" / "overlays").glob("*.png"))) == 3
    scored = _invoke("predict", ensemble, tmp_path / "img0.png", "--out", tmp_path / "p.csv")
    assert scored.exit_code == 0 and "scored 1 of 1" in " ".join(scored.output.split())
