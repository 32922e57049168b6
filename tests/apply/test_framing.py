"""Crop and orientation through a whole study: loader, model card, and predict/evaluate/explain feeding the same pixels.

A folder of phantom whole mammograms (PNG; chest wall on either side, some stored inverted)
with ``data.crop: true`` and ``data.orient: true``: the study records the framing, the card
carries it, ``prepare_file`` with the card's framing gives the loader's pixels exactly, and
predict reproduces the stored scores.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from breast_phantoms import phantom
from mammosearch.apply import load_exported, scores_agree
from mammosearch.cli import app
from mammosearch.config import load_space
from mammosearch.data import load_image_set, prepare_file
from mammosearch.data.checks import compute_fingerprint
from mammosearch.data.decode import Framing
from mammosearch.errors import SpaceError

pytestmark = pytest.mark.slow  # trains a model and runs a study

runner = CliRunner()

SPACE = """
study: {{name: framed, sampler: random, pruner: none, n_trials: 1, seed: 1, keep_top_k: 1}}
data: {{source: folder, root: {root}, image_size: 32, crop: true, orient: true, patient_regex: '^(p\\d+)_', split: {{validation: 0.25, test: 0.25, seed: 0}}}}
model: {{families: [cnn], input_size: 32, cnn: {{filters: [4], kernel_size: 3, dense_units: 8, dropout: 0.1}}}}
training: {{batch_size: 8, epochs: 1}}
"""


def _write_folder(root: Path, first_patient: int = 0) -> None:
    """12 patients x 2 views per class; malignant ones carry a bright spot; every fifth file is stored inverted."""
    for label, name in enumerate(("benign", "malignant")):
        (root / name).mkdir(parents=True)
        for patient in range(first_patient, first_patient + 12):
            for view, side in enumerate(("left", "right")):
                seed = 100 * label + 10 * patient + view
                image = phantom(120 + 8 * (seed % 3), 90, chest_wall=side, seed=seed)[:, :, 0].copy()
                if label:
                    spot_col = 40 if side == "left" else 50
                    image[50:58, spot_col:spot_col + 8] = 255
                if seed % 5 == 0:
                    image = 255 - image
                Image.fromarray(image).save(root / name / f"p{label}{patient:02d}_{view}.png")


@pytest.fixture(scope="module")
def framed_study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("framed")
    _write_folder(root / "data")
    space = root / "space.yaml"
    space.write_text(SPACE.format(root=root / "data"), encoding="utf-8")
    results = root / "results"
    result = runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(results)])
    assert result.exit_code == 0, result.output
    exported = root / "exported"
    result = runner.invoke(app, ["export-best", "--results-dir", str(results), "--out", str(exported)])
    assert result.exit_code == 0, result.output
    return {"root": root, "space": space, "results": results, "exported": exported}


def test_the_loader_frames_every_image_and_the_fingerprint_counts_it(framed_study):
    loaded = load_space(framed_study["space"], [])
    images = load_image_set(loaded.data, loaded.split, checks=loaded.checks)
    prov = images.provenance
    assert images.framing == Framing(crop=True, orient=True)
    assert set(prov.crop.tolist()) == {"breast"}
    assert set(prov.chest_wall_from.tolist()) == {"image"}
    # view 0 is stored chest wall left, view 1 right; inverted files are judged as their flipped twins
    assert [str(side) for side in prov.chest_wall] == ["left" if src.endswith("_0.png") else "right" for src in prov.sources]
    fingerprint = compute_fingerprint(images, loaded.checks)
    framing = fingerprint["framing"]
    assert (framing["cropped"], framing["kept_whole"], framing["turned"]) == (48, 0, 24)
    assert framing["chest_wall"] == {"left": 24, "right": 24}
    assert not any("chest wall" in w for w in fingerprint["warnings"])  # one of each side per patient: even


def test_predict_explain_and_evaluate_feed_the_loaders_pixels(framed_study, tmp_path):
    bundle = load_exported(framed_study["exported"])
    assert bundle.card["input"]["framing"] == {"crop": True, "orient": True, "crop_margin": 0.02}
    assert bundle.framing == Framing(crop=True, orient=True)
    loaded = load_space(framed_study["space"], [])
    images = load_image_set(loaded.data, loaded.split, checks=loaded.checks)
    for index in range(0, len(images.sources), 5):  # inverted files among them
        prepared = prepare_file(Path(images.sources[index]), bundle.channels, bundle.data_image_size, bundle.input_size, bundle.photometry, bundle.framing)
        np.testing.assert_array_equal(prepared.pixels, images.images[index])
        assert prepared.framed
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(framed_study["exported"]), str(framed_study["root"] / "data" / "benign"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(float(r["probability_malignant"]), float(r["stored_score"])) for r in rows if r["stored_score"]]
    assert pairs and all(scores_agree(a, b) for a, b in pairs)
    card_md = (framed_study["exported"] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "cropped to the breast" in card_md and "chest wall is on the left" in card_md
    # evaluate with --data takes the card's framing; a space that does not frame is refused in one line
    _write_folder(tmp_path / "other", first_patient=50)  # patients the model never saw
    result = runner.invoke(app, ["evaluate", str(framed_study["exported"]), "--data", "source=folder", "--data", f"root={tmp_path / 'other'}",
                                 "--data", "patient_regex=^(p\\d+)_", "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    unframed = tmp_path / "unframed.yaml"
    unframed.write_text(framed_study["space"].read_text().replace("crop: true, orient: true", "crop: false"), encoding="utf-8")
    result = runner.invoke(app, ["evaluate", str(framed_study["exported"]), "--space", str(unframed), "--out", str(tmp_path / "ev2")])
    assert result.exit_code != 0
    assert "data.crop: true, data.orient: true" in result.output and "Traceback" not in result.output
    summary = json.loads((framed_study["exported"] / "model_card.json").read_text())
    assert summary["input"]["framing"]["crop"] is True


def test_lesion_crops_refuse_crop_and_orient_in_one_line(tmp_path):
    space = tmp_path / "s.yaml"
    space.write_text("data: {source: mias, task: benign_vs_malignant, crop: true}\nmodel: {families: [cnn]}\n", encoding="utf-8")
    with pytest.raises(SpaceError, match=r"data\.crop: data\.crop: true apply to whole mammograms, but this data set is lesion crops"):
        load_space(space, [])


# Rectangles: the data fitted to 96 x 48 (a cropped breast keeps its aspect ratio, padded), the model at 64 x 32.
RECT_SPACE = SPACE.replace("image_size: 32", "image_size: '96x48'").replace("input_size: 32", "input_size: '64x32'").replace("name: framed", "name: rect")


@pytest.fixture(scope="module")
def rect_study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("rect")
    _write_folder(root / "data")
    space = root / "space.yaml"
    space.write_text(RECT_SPACE.format(root=root / "data"), encoding="utf-8")
    results = root / "results"
    result = runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(results)])
    assert result.exit_code == 0, result.output
    exported = root / "exported"
    result = runner.invoke(app, ["export-best", "--results-dir", str(results), "--out", str(exported)])
    assert result.exit_code == 0, result.output
    return {"root": root, "space": space, "results": results, "exported": exported}


def _scores(path: Path, column: str) -> dict[str, float]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {Path(row["source"] if "source" in row else row["file"]).name: float(row[column]) for row in csv.DictReader(handle)}


def test_a_rectangular_export_feeds_predict_evaluate_and_explain_the_trials_pixels(rect_study, tmp_path):
    from mammosearch.data.decode import images_at

    bundle = load_exported(rect_study["exported"])
    assert (bundle.input_size, bundle.data_image_size) == ("64x32", "96x48")
    assert bundle.card["input"]["shape"] == [64, 32, 1] and bundle.card["input"]["data_image_size"] == "96x48"
    card_md = (rect_study["exported"] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "resized to a 96 x 48 rectangle (height x width)" in card_md and "then to 64 x 32 (the aspect ratio kept and padded)" in card_md
    loaded = load_space(rect_study["space"], [])
    images = load_image_set(loaded.data, loaded.split, checks=loaded.checks)
    assert images.images.shape[1:] == (96, 48, 1) and images.image_size == "96x48"
    trained_on = images_at(images.images, "64x32", None, lambda: "")  # what the trial resized its data to
    for index in range(0, len(images.sources), 5):  # inverted files among them
        prepared = prepare_file(Path(images.sources[index]), bundle.channels, bundle.data_image_size, bundle.input_size, bundle.photometry, bundle.framing)
        np.testing.assert_array_equal(prepared.pixels, trained_on[index])
        # The cropped breast is wider for its height than 96 x 48: it fills the width and is padded below.
        rows = round(64 * prepared.content[0])
        assert prepared.content[1] == 1.0 and 0.1 < prepared.content[0] < 1.0
        assert not prepared.pixels[rows + 1:].any() and prepared.pixels[: rows - 1].any()
    predicted = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(rect_study["exported"]), str(rect_study["root"] / "data" / "benign"), "--out", str(predicted)])
    assert result.exit_code == 0, result.output
    with predicted.open(newline="", encoding="utf-8") as handle:
        rows_read = list(csv.DictReader(handle))
    pairs = [(float(r["probability_malignant"]), float(r["stored_score"])) for r in rows_read if r["stored_score"]]
    assert pairs and all(scores_agree(a, b) for a, b in pairs)
    # evaluate (patients the model never saw) and predict on the same files give the same scores
    _write_folder(tmp_path / "other", first_patient=50)
    result = runner.invoke(app, ["evaluate", str(rect_study["exported"]), "--data", "source=folder", "--data", f"root={tmp_path / 'other'}",
                                 "--data", "patient_regex=^(p\\d+)_", "--out", str(tmp_path / "ev")])
    assert result.exit_code == 0, result.output
    evaluated = _scores(tmp_path / "ev" / "predictions.csv", "probability")
    result = runner.invoke(app, ["predict", str(rect_study["exported"]), str(tmp_path / "other"), "--out", str(tmp_path / "p2.csv")])
    assert result.exit_code == 0, result.output
    again = _scores(tmp_path / "p2.csv", "probability_malignant")
    assert len(evaluated) == 48 and evaluated.keys() == again.keys()
    assert all(scores_agree(evaluated[name], again[name]) for name in evaluated)
    result = runner.invoke(app, ["explain", str(rect_study["exported"]), *images.sources[:3], "--out", str(tmp_path / "explained")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "explained" / "overlays").glob("*.png"))) == 3


def test_a_vgg16_trial_trains_at_a_rectangular_size(rect_study, tmp_path):
    import optuna

    space = tmp_path / "vgg.yaml"
    text = rect_study["space"].read_text(encoding="utf-8").replace("name: rect", "name: rect_vgg")
    text = text.replace("families: [cnn]", "families: [vgg16], heads: [gap_dropout], weights: none")
    space.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    study = optuna.load_study(study_name="rect_vgg", storage=f"sqlite:///{tmp_path / 'results' / 'mammosearch.db'}")
    trial = study.get_trials(deepcopy=False)[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE  # a fixed size is no Optuna param: the record holds it
    assert trial.user_attrs["params"]["input_size"] == "64x32"
