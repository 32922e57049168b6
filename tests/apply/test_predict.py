"""`predict` and `data export` on real studies: scores equal the stored ones within ``SCORE_TOLERANCE``.

Not bit for bit: another machine's kernels, or another batch composition, round float32 sums
differently (``apply/agreement.py``). The pixels that reach the model are compared exactly.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.conftest import TINY_SPACE, TINY_TRANSFER_SPACE
from typer.testing import CliRunner

from mammosearch.apply import SCORE_TOLERANCE, agreement, scores_agree
from mammosearch.cli import app

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

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
    assert all(scores_agree(a, b) for a, b in pairs), max(abs(a - b) for a, b in pairs)
    assert f"{count} image(s) the study scored: {count} within {SCORE_TOLERANCE:g} of the stored score" in " ".join(result.output.split())
    assert "differ by more than" not in result.output


def test_stored_scores_the_model_does_not_reproduce_are_counted_apart(transfer_study, tmp_path):
    import shutil

    # Stored scores moved by ten tolerances stand for another model or other preprocessing.
    exported = tmp_path / "exported"
    shutil.copytree(transfer_study["exported"], exported)
    stored = json.loads((exported / "predictions.json").read_text())
    stored["val"]["scores"][:3] = [s - 10 * SCORE_TOLERANCE if s > 0.5 else s + 10 * SCORE_TOLERANCE for s in stored["val"]["scores"][:3]]
    (exported / "predictions.json").write_text(json.dumps(stored))
    result = _invoke("predict", exported, transfer_study["images"] / "val", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"16 image(s) the study scored: 13 within {SCORE_TOLERANCE:g} of the stored score" in text
    assert f"3 image(s) differ by more than {SCORE_TOLERANCE:g}: not the model or the preprocessing" in text


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
        assert all(scores_agree(a, b) for a, b in pairs), max(abs(a - b) for a, b in pairs)


def test_an_image_scores_the_same_within_the_tolerance_however_it_is_batched(cnn_export):
    from mammosearch.apply import load_exported
    from mammosearch.data import load_image_set
    from mammosearch.trial.fit import predict_scores

    # Batch size 1 takes another kernel than a batch of 16 on every CPU tried; a reversed
    # order puts each image beside other images. Neither may move a score past the tolerance.
    bundle = load_exported(cnn_export["exported"])
    images = load_image_set(*_data_and_split(cnn_export["space_file"])).images[:40]
    batched = predict_scores(bundle.model, images, 16)
    alone = predict_scores(bundle.model, images, 1)
    reordered = predict_scores(bundle.model, images[::-1], 16)[::-1]
    assert np.abs(alone - batched).max() <= SCORE_TOLERANCE and np.abs(reordered - batched).max() <= SCORE_TOLERANCE


def _data_and_split(space_file: Path) -> tuple:
    from mammosearch.config import parse_space

    space = parse_space(Path(space_file).read_text(encoding="utf-8"))
    return space.data, space.split


def test_the_agreement_counts_scores_within_the_tolerance_and_bit_equal_ones_apart():
    found = agreement([(0.5, 0.5), (0.49561527, 0.49561524), (0.2, 0.2 + 2 * SCORE_TOLERANCE)])
    assert found is not None and (found.compared, found.within, found.identical) == (3, 2, 1) and not found.all_within
    assert found.largest == pytest.approx(2 * SCORE_TOLERANCE)
    assert found.summary() == f"3 image(s) the study scored: 2 within {SCORE_TOLERANCE:g} of the stored score (1 identical), largest difference {2 * SCORE_TOLERANCE:.2e}"
    assert agreement([]) is None


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
    from tests.dicom_files import write_dicom

    from mammosearch.apply import load_exported
    from mammosearch.data import prepare_file
    from mammosearch.data.decode import decode_file

    rng = np.random.default_rng(0)
    stored = rng.integers(0, 4096, size=(40, 40)).astype(np.uint16)
    dicom = write_dicom(tmp_path / "scan.dcm", stored, bits_stored=12, patient_id="P1")
    pixels = decode_file(dicom, "grayscale").pixels
    Image.fromarray(pixels[:, :, 0]).save(tmp_path / "scan.png")
    bundle = load_exported(transfer_study["exported"])
    as_dicom, as_png = (prepare_file(p, bundle.channels, bundle.data_image_size, bundle.input_size, bundle.photometry) for p in (dicom, tmp_path / "scan.png"))
    np.testing.assert_array_equal(as_dicom.pixels, as_png.pixels)  # what reaches the model: exactly the same
    out = tmp_path / "p.csv"
    assert _invoke("predict", transfer_study["exported"], dicom, tmp_path / "scan.png", "--out", out).exit_code == 0
    scores = [float(r["probability_malignant"]) for r in _rows(out)]
    # Two rows of one batch: some CPUs round a row by its position (0.49561527 against 0.49561524).
    assert len(scores) == 2 and scores_agree(scores[0], scores[1]), scores


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
    from mammosearch.config import parse_space
    from mammosearch.data import load_image_set

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
