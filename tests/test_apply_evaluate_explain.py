"""`evaluate` and `explain` on real models, the model card's new facts, and the metrics behind them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.cli import app

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


def test_gradcam_of_a_phantom_model_peaks_on_the_mass_more_often_than_chance(cam_model):
    from mammosearch.apply.bundle import load_exported
    from mammosearch.apply.gradcam import cam_parts, gradcam, peak_of
    from mammosearch.data.phantoms import generate_synthetic, lesion_circles
    from mammosearch.data.sources.synthetic import SyntheticSpec

    bundle = load_exported(cam_model["exported"])
    spec = SyntheticSpec(n_images=120, image_size=48, difficulty=0.2, seed=11)  # phantoms it never saw
    images, _, _ = generate_synthetic(spec)
    circles = lesion_circles(spec)
    maps = gradcam(cam_parts(bundle.model), images, "predicted", bundle.threshold)
    assert maps.shape == (120, 48, 48) and 0.0 <= maps.min() and maps.max() <= 1.0
    hits = [(col + 0.5 - cx) ** 2 + (row + 0.5 - cy) ** 2 <= r * r for cam, (cx, cy, r) in zip(maps, circles) for row, col in [peak_of(cam)]]
    chance = float(np.mean(np.pi * circles[:, 2] ** 2 / 48**2))  # a peak placed at random
    assert np.mean(hits) > 2 * chance, (np.mean(hits), chance)


def test_explain_writes_overlays_a_grid_and_the_pointing_check_on_mias_named_files(cam_model, tmp_path):
    from mammosearch.data.phantoms import generate_synthetic, lesion_circles
    from mammosearch.data.sources.synthetic import SyntheticSpec

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


def test_the_task_follows_the_loader():
    from mammosearch.config.reader import parse_space
    from mammosearch.data.registry import source

    whole = parse_space("data: {source: mias, task: normal_vs_abnormal, root: /nowhere}").data
    task = source("mias").task(whole)
    assert (task.negative, task.positive, task.unit) == ("normal", "abnormal", "whole mammogram")
    screening = parse_space("data: {source: csv, path: x.csv, classes: [no cancer, cancer]}").data
    assert "cancer from no cancer" in source("csv").task(screening).intended_use


def test_operating_points_reach_their_targets_at_the_most_useful_threshold():
    from mammosearch.metrics.operating import operating_points

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
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    result = _invoke("explain", ensemble, *(tmp_path / f"img{i}.png" for i in range(3)), "--out", tmp_path / "explained")
    assert result.exit_code == 0, result.output
    assert "conv3" in result.output and len(list((tmp_path / "explained" / "overlays").glob("*.png"))) == 3
    scored = _invoke("predict", ensemble, tmp_path / "img0.png", "--out", tmp_path / "p.csv")
    assert scored.exit_code == 0 and "scored 1 of 1" in " ".join(scored.output.split())
