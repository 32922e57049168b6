"""Inputs unlike the training data are named, per file and in total, by predict, explain and evaluate."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.apply.training_range import InputFacts, TrainingRange, check_range
from mammosearch.cli import app

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def cnn_export(tiny_study: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The session's CNN study (32 px phantoms), exported, and its images written out."""
    root = tmp_path_factory.mktemp("range_export")
    exported, images = root / "exported", root / "images"
    assert runner.invoke(app, ["export-best", "--storage", tiny_study["storage"], "--study", "tiny", "--out", str(exported)]).exit_code == 0
    assert runner.invoke(app, ["data", "export", "--space", str(tiny_study["space_file"]), "--out", str(images)]).exit_code == 0
    return {"exported": exported, "images": images}


def _card(low: list[int], high: list[int], cut: int | None = 0, unit: str = "lesion crop", bits: dict | None = None) -> dict:
    sizes = {"stored_min": low, "stored_max": high, "bits": bits or {"8": 10}}
    if cut is not None:
        sizes["cut_from_files"] = cut
    return {"task": {"unit": unit}, "data_fingerprint": {"sizes": sizes, "photometry": {"looks_inverted": 0}}}


def test_a_whole_film_given_to_a_model_of_crops_cut_from_such_films_is_flagged():
    # mini-MIAS lesion crops: the fingerprint knows the 1024 px files the crops were cut from.
    training = TrainingRange.from_card(_card([1024, 1024], [1024, 1024], cut=120), "auto")
    assert training is not None and training.cut
    whole, crop = InputFacts("mdb001.pgm", 1024, 1024, 8, False), InputFacts("crop.png", 180, 180, 8, False)
    assert "as large as the whole files the training lesion crops were cut from" in " ".join(training.outside(whole))
    assert training.outside(crop) == []


def test_sizes_bits_and_photometry_outside_a_model_of_whole_files():
    training = TrainingRange.from_card(_card([3000, 2000], [5000, 3400], unit="whole mammogram"), "as_is")
    assert training is not None
    check = check_range(training, [
        InputFacts("film.dcm", 4600, 3000, 8, False),  # inside
        InputFacts("crop.png", 300, 300, 8, False),
        InputFacts("scan16.png", 4600, 3000, 16, False),
        InputFacts("inverted.png", 4000, 3000, 8, True),
    ])
    reasons = dict(check.outside)
    assert set(reasons) == {"crop.png", "scan16.png", "inverted.png"}
    assert "smaller than any training image (3000x2000 to 5000x3400 px)" in reasons["crop.png"][0]
    assert reasons["scan16.png"] == ["16-bit, the training files were 8-bit"]
    assert "looks inverted" in reasons["inverted.png"][0]
    assert check.lines()[-1].startswith("3 of 4 input(s) fall outside the training data (whole mammograms of 3000x2000 to 5000x3400 px, 8-bit)")
    # Under photometry: auto an inverted input is flipped as training flipped its own: not outside.
    auto = TrainingRange.from_card(_card([3000, 2000], [5000, 3400], unit="whole mammogram"), "auto")
    assert auto is not None and auto.outside(InputFacts("inverted.png", 4000, 3000, 8, True)) == []


def test_an_older_card_degrades_to_one_line_and_an_older_crop_study_skips_only_the_size():
    assert TrainingRange.from_card({"data_fingerprint": None}, "auto") is None
    assert check_range(None, []).lines() == [
        "the model's card records no training size range (an older study or export): inputs are not compared with the training data"
    ]
    older = TrainingRange.from_card(_card([1024, 1024], [1024, 1024], cut=None), "auto")  # fingerprint v2: cut not recorded
    assert older is not None and older.outside(InputFacts("crop.png", 100, 100, 8, False)) == []
    assert older.outside(InputFacts("crop16.png", 100, 100, 16, False)) == ["16-bit, the training files were 8-bit"]


def test_predict_and_explain_name_files_unlike_the_training_images(cnn_export, tmp_path):
    card = json.loads((cnn_export["exported"] / "model_card.json").read_text())
    assert card["data_fingerprint"]["sizes"]["cut_from_files"] == 0  # recorded for new studies and exports
    folder = tmp_path / "inputs"
    folder.mkdir()
    same = next((cnn_export["images"] / "test").rglob("*.png"))
    (folder / "like_training.png").write_bytes(same.read_bytes())
    big = (np.random.default_rng(0).integers(0, 4096, (400, 300))).astype(np.uint16)
    Image.fromarray(big).save(folder / "whole_film16.png")  # 16-bit, far larger than the 32 px phantoms
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(cnn_export["exported"]), str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "400x300 px: larger than any training image (32x32 px)" in text and "16-bit, the training files were 8-bit" in text
    assert "1 of 2 input(s) fall outside the training data" in text
    with out.open(newline="", encoding="utf-8") as handle:
        rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(handle)}
    assert rows["like_training.png"]["outside_training"] == "" and "larger than any training image" in rows["whole_film16.png"]["outside_training"]
    explained = runner.invoke(app, ["explain", str(cnn_export["exported"]), str(folder), "--out", str(tmp_path / "explained")])
    assert explained.exit_code == 0, explained.output
    assert "1 of 2 input(s) fall outside the training data" in " ".join(explained.output.split())


def test_evaluate_counts_images_unlike_the_training_data_in_metrics_json(cnn_export, tmp_path):
    rng = np.random.default_rng(1)
    for cls in ("benign", "malignant"):
        (tmp_path / "site2" / cls).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 4096, (200, 160)).astype(np.uint16)).save(tmp_path / "site2" / cls / f"{cls}_{i}.png")
    out = tmp_path / "evaluation"
    result = runner.invoke(app, ["evaluate", str(cnn_export["exported"]), "--data", "source=folder", "--data", f"root={tmp_path / 'site2'}",
                                 "--out", str(out), "--results-dir", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    assert "8 of 8 input(s) fall outside the training data" in " ".join(result.output.split())
    outside = json.loads((out / "metrics.json").read_text())["outside_training"]
    assert outside["checked"] == 8 and outside["outside"] == 8
    assert outside["files"][0]["reasons"] == ["200x160 px: larger than any training image (32x32 px)", "16-bit, the training files were 8-bit"]
