"""`predict` and `data export` on real studies: scores equal the stored ones bit for bit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.cli import app
from tests.conftest import TINY_SPACE, TINY_TRANSFER_SPACE

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def transfer_study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A study whose kept trial is a head trained on cached VGG16 activations, exported, and its images written out."""
    root = tmp_path_factory.mktemp("transfer")
    space = root / "space.yaml"
    space.write_text(TINY_TRANSFER_SPACE, encoding="utf-8")
    results = root / "results"
    assert _invoke("run", "--space", space, "--results-dir", results).exit_code == 0
    exported = root / "exported"
    assert _invoke("export-best", "--results-dir", results, "--out", exported).exit_code == 0
    images = root / "images"
    result = _invoke("data", "export", "--space", space, "--out", images, "--results-dir", results)
    assert result.exit_code == 0, result.output
    return {"root": root, "space": space, "results": results, "exported": exported, "images": images}


@pytest.fixture(scope="module")
def cnn_export(tiny_study: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The session's CNN study (full-network trials, a test split), exported, and its images written out."""
    root = tmp_path_factory.mktemp("cnn_export")
    exported = root / "exported"
    assert _invoke("export-best", "--storage", tiny_study["storage"], "--study", "tiny", "--out", exported).exit_code == 0
    images = root / "images"
    assert _invoke("data", "export", "--space", tiny_study["space_file"], "--out", images).exit_code == 0
    return {"exported": exported, "images": images, **tiny_study}


def _stored_match(rows: list[dict[str, str]]) -> tuple[int, list[tuple[float, float]]]:
    pairs = [(float(r["probability_malignant"]), float(r["stored_score"])) for r in rows if r["stored_score"]]
    return len(pairs), pairs


def test_predict_on_a_folder_reproduces_the_stored_scores_of_a_cached_activation_trial(transfer_study, tmp_path):
    out = tmp_path / "p.csv"
    result = _invoke("predict", transfer_study["exported"], transfer_study["images"] / "val", "--out", out)
    assert result.exit_code == 0, result.output
    stored = json.loads((transfer_study["exported"] / "predictions.json").read_text())["val"]
    count, pairs = _stored_match(_rows(out))
    assert count == len(stored["scores"]) == 16
    assert all(a == b for a, b in pairs), max(abs(a - b) for a, b in pairs)  # bit for bit, not approximately
    assert f"{count} image(s) the study scored: {count} identical" in " ".join(result.output.split())


def test_predict_with_study_and_trial_reproduces_full_network_validation_and_test_scores(cnn_export, tmp_path):
    out = tmp_path / "p.csv"
    manifest = cnn_export["images"] / "manifest.csv"
    kept = sorted(p.name for p in (cnn_export["results"] / "tiny" / "trials").iterdir() if (p / "model.keras").is_file())
    for trial in kept:
        result = _invoke("predict", manifest, "--storage", cnn_export["storage"], "--study", "tiny", "--trial", trial, "--out", out)
        assert result.exit_code == 0, result.output
        rows = _rows(out)
        assert len(rows) == 96  # every image of the manifest
        count, pairs = _stored_match(rows)
        assert count == 48  # 24 validation + 24 test images were stored by the trial
        assert all(a == b for a, b in pairs)


def test_a_file_it_cannot_read_is_listed_and_the_others_go_on(transfer_study, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    good = sorted((transfer_study["images"] / "val" / "benign").glob("*.png"))[:2]
    for path in good:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image, skipped")
    out = tmp_path / "p.csv"
    result = _invoke("predict", transfer_study["exported"], folder, "--out", out)
    assert result.exit_code == 3
    rows = {Path(r["path"]).name: r for r in _rows(out)}
    assert set(rows) == {"broken.png", *(p.name for p in good)}
    assert rows["broken.png"]["probability_malignant"] == "" and "cannot read image" in rows["broken.png"]["error"]
    assert all(0.0 <= float(rows[p.name]["probability_malignant"]) <= 1.0 for p in good)
    assert "failed:" in result.output and "Traceback" not in result.output


def test_a_dicom_file_scores_as_the_png_of_its_decoded_pixels(transfer_study, tmp_path):
    from mammosearch.data.decode import decode_file
    from tests.dicom_files import write_dicom

    rng = np.random.default_rng(0)
    stored = rng.integers(0, 4096, size=(40, 40)).astype(np.uint16)
    dicom = write_dicom(tmp_path / "scan.dcm", stored, bits_stored=12, patient_id="P1")
    pixels = decode_file(dicom, "grayscale").pixels
    Image.fromarray(pixels[:, :, 0]).save(tmp_path / "scan.png")
    out = tmp_path / "p.csv"
    assert _invoke("predict", transfer_study["exported"], dicom, tmp_path / "scan.png", "--out", out).exit_code == 0
    scores = [float(r["probability_malignant"]) for r in _rows(out)]
    assert len(scores) == 2 and scores[0] == scores[1]


def test_operating_points_come_from_the_card(transfer_study, tmp_path):
    card = json.loads((transfer_study["exported"] / "model_card.json").read_text())
    threshold = card["operating_points"]["specificity_0.90"]["threshold"]
    out = tmp_path / "p.csv"
    result = _invoke("predict", transfer_study["exported"], transfer_study["images"] / "val", "--out", out, "--specificity", "0.9", "--threshold", "0.5")
    assert result.exit_code == 0, result.output
    for row in _rows(out):
        score = float(row["probability_malignant"])
        assert row["specificity_0.90_label"] == str(int(score >= threshold))
        assert row["at_0.5_label"] == str(int(score >= 0.5))
        assert row["at_0.5_class"] == ("malignant" if score >= 0.5 else "benign")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "{missing}", "{images}"], "model folder"),
        (["predict", "{exported}"], "no INPUTS given"),
        (["predict", "{exported}", "{missing}"], "not found"),
        (["predict", "{exported}", "{images}", "--sensitivity", "0.85"], "no sensitivity 0.85 operating point"),
        (["predict", "{images}", "{images}"], "has no model.keras"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(transfer_study, tmp_path, args, message):
    names = {"missing": tmp_path / "nowhere", "images": transfer_study["images"] / "val", "exported": transfer_study["exported"]}
    result = _invoke(*[a.format(**names) for a in args], "--out", tmp_path / "p.csv")
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_data_export_writes_lossless_pngs_and_a_manifest_the_csv_source_reads_back(tmp_path, write_space):
    from mammosearch.config.reader import parse_space
    from mammosearch.data.loading import load_image_set

    space = parse_space(TINY_SPACE)
    original = load_image_set(space.data, space.split)
    result = _invoke("data", "export", "--space", write_space(TINY_SPACE), "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    reread = parse_space(f"data: {{source: csv, path: {tmp_path / 'out' / 'manifest.csv'}, image_size: 32, photometry: as_is}}")
    back = load_image_set(reread.data, reread.split, checks=reread.checks)
    assert np.array_equal(back.images, original.images)
    assert back.labels.tolist() == original.labels.tolist()
    assert back.splits.tolist() == original.splits.tolist()
    assert back.patient_ids.tolist() == original.patient_ids.tolist()


def test_an_output_that_cannot_be_written_is_one_line(transfer_study, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    result = _invoke("predict", transfer_study["exported"], transfer_study["images"] / "val", "--out", blocker / "p.csv")
    assert result.exit_code == 6
    assert "cannot write to" in " ".join(result.output.split()) and "Traceback" not in result.output
