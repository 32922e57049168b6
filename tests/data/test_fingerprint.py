"""The data fingerprint on real image files: photometry, patients, near-duplicates, shortcuts, sizes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import MINI_MIAS
from mammosearch.cli import app
from mammosearch.data import CsvSpec, FolderSpec, SplitSpec, load_image_set
from mammosearch.data.checks import DataChecks, cached_fingerprint, compute_fingerprint
from mammosearch.data.pixels import photometry_score
from mammosearch.errors import DataError

runner = CliRunner()


def mammogram(rng: np.random.Generator, size: int = 96, malignant: bool = False) -> np.ndarray:
    """A breast-like shape on a black background: bright textured tissue on one side, air elsewhere."""
    y, x = np.mgrid[0:size, 0:size] / size
    breast = ((x / 0.6) ** 2 + ((y - 0.5) / 0.45) ** 2) < 1.0
    tissue = 120 + 60 * rng.random((size, size)) + (40 if malignant else 0) * (((x - 0.3) ** 2 + (y - 0.5) ** 2) < 0.01)
    return np.where(breast, np.clip(tissue, 0, 255), 0).astype(np.uint8)


def write_folder(root: Path, n: int = 24, inverted: dict[str, int] | None = None, prefix: str = "") -> Path:
    """``root/benign`` and ``root/malignant``, ``n`` each; ``inverted[class]`` of them saved inverted."""
    rng = np.random.default_rng(0)
    for label, name in enumerate(("benign", "malignant")):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = mammogram(rng, malignant=bool(label))
            if i < (inverted or {}).get(name, 0):
                pixels = 255 - pixels
            Image.fromarray(pixels).save(root / name / f"{prefix}{name}_{i:03d}.png")
    return root


@pytest.mark.skipif(not MINI_MIAS.is_dir(), reason=f"mini-MIAS is not at {MINI_MIAS} (../shared/datasets/mini-mias)")
@pytest.mark.slow
def test_the_photometry_detector_on_mini_mias_and_its_inverted_copies():
    files = sorted((MINI_MIAS / "images").glob("mdb*.png"))
    assert len(files) == 322
    right = 0
    for path in files:
        pixels = np.asarray(Image.open(path))
        right += photometry_score(pixels) < 0  # as stored: dark background
        right += photometry_score(255 - pixels) > 0  # its inverted copy
    accuracy = right / (2 * len(files))
    print(f"photometry detector on mini-MIAS and inverted copies: {right}/{2 * len(files)} = {accuracy:.4f}")
    assert accuracy >= 0.99, f"accuracy {accuracy:.4f}"


def test_the_detector_is_antisymmetric_and_abstains_without_background():
    rng = np.random.default_rng(1)
    image = mammogram(rng)
    assert photometry_score(image) < 0 < photometry_score(255 - image)
    assert photometry_score(255 - image) == pytest.approx(-photometry_score(image))
    crop = image[30:60, 5:25]  # tissue only: nothing to tell the photometry by
    assert abs(photometry_score(crop)) <= 0.02


def test_inverted_images_are_counted_per_class_and_split_and_flipped_under_auto(tmp_path):
    root = write_folder(tmp_path / "data", inverted={"benign": 10, "malignant": 2})
    split = SplitSpec(validation=0.25, test=0.25)
    auto = load_image_set(FolderSpec(root=root, image_size=32), split)
    as_is = load_image_set(FolderSpec(root=root, image_size=32), split, checks=DataChecks(photometry="as_is"))
    assert auto.flipped is not None and int(auto.flipped.sum()) == 12
    assert np.array_equal(auto.images[auto.flipped], 255 - as_is.images[auto.flipped])
    assert np.array_equal(auto.images[~auto.flipped], as_is.images[~auto.flipped])
    fingerprint = compute_fingerprint(auto, DataChecks())
    assert fingerprint["photometry"]["looks_inverted"] == 12 and fingerprint["photometry"]["flipped"] == 12
    total = [row for row in fingerprint["photometry"]["table"] if row["split"] == "all"][0]
    assert (total["benign_inverted"], total["malignant_inverted"]) == (10, 2)
    assert any("12 of 48 images look inverted" in w and "42% of benign, 8% of malignant" in w for w in fingerprint["warnings"])
    assert any("unevenly spread" in w for w in fingerprint["warnings"])
    kept = compute_fingerprint(as_is, DataChecks(photometry="as_is"))
    assert kept["photometry"]["flipped"] == 0 and any("left as they are" in w for w in kept["warnings"])


def test_a_folder_whose_every_image_is_inverted_is_flipped_with_a_warning(tmp_path):
    root = write_folder(tmp_path / "data", n=8, inverted={"benign": 8, "malignant": 8})
    result = runner.invoke(app, ["data", "inspect", "--space", str(_space(tmp_path, f"data: {{source: folder, root: {root}, image_size: 32}}")),
                                 "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "every image (16) looks inverted" in result.output and "data.photometry" in result.output


def test_file_names_with_a_patient_prefix_get_a_suggested_regex(tmp_path):
    root = tmp_path / "data"
    rng = np.random.default_rng(2)
    for name in ("benign", "malignant"):
        (root / name).mkdir(parents=True)
        for patient in range(6):
            for view in ("L_CC", "R_MLO"):
                Image.fromarray(mammogram(rng)).save(root / name / f"P_{patient + (0 if name == 'benign' else 10):05d}_{view}.png")
    images = load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25))
    fingerprint = compute_fingerprint(images, DataChecks())
    assert images.patient_source == "file" and fingerprint["patients"]["suggested_regex"] == r"^([A-Za-z]+_\d+)(?=[_\-. ])"
    assert any("try data.patient_regex" in w and "12 of them name 2 files each" in w for w in fingerprint["warnings"])
    with pytest.raises(DataError, match="data.patients: required"):
        load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25), checks=DataChecks(patients="required"))
    given = load_image_set(FolderSpec(root=root, image_size=32, patient_regex=fingerprint["patients"]["suggested_regex"]), SplitSpec(validation=0.25))
    assert len(set(given.patient_ids)) == 12


@pytest.mark.slow
def test_patients_required_stops_the_run_with_one_line_and_leaves_the_study_alone(tmp_path):
    import optuna

    root = write_folder(tmp_path / "data", n=6, inverted={"benign": 2})
    storage = f"sqlite:///{tmp_path / 's.db'}"
    base = f"study: {{name: p, n_trials: 1, sampler: random}}\nmodel: {{families: [cnn], cnn: {{filters: 4, dense_units: 8}}}}\ntraining: {{epochs: 1}}\n"
    first = runner.invoke(app, ["run", "--space", str(_space(tmp_path, base + f"data: {{source: folder, root: {root}, image_size: 32}}")),
                                "--storage", storage, "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "250"})
    assert first.exit_code == 0, first.output
    assert "2 of 12 images look inverted" in first.output and "flipped to dark background" in first.output  # run applies photometry: auto
    before = [(t.number, t.state, t.value) for t in optuna.load_study(study_name="p", storage=storage).trials]
    space = _space(tmp_path, base + f"data: {{source: folder, root: {root}, image_size: 32, patients: required}}")
    result = runner.invoke(app, ["run", "--space", str(space), "--storage", storage, "--results-dir", str(tmp_path / "r"), "--n-trials", "2"])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: data.patients: required") and "Traceback" not in result.output
    assert [(t.number, t.state, t.value) for t in optuna.load_study(study_name="p", storage=storage).trials] == before


def test_near_duplicates_that_cross_splits_are_named(tmp_path):
    rng = np.random.default_rng(3)
    rows = ["path,label,patient_id,split"]
    for i in range(16):
        label, split = i % 2, ("train", "val", "test", "train")[i % 4]
        Image.fromarray(mammogram(rng, malignant=bool(label))).save(tmp_path / f"img{i:02d}.png")
        rows.append(f"img{i:02d}.png,{label},p{i},{split}")
    # The same scan saved again as a JPEG under another patient, in the test split.
    Image.open(tmp_path / "img00.png").save(tmp_path / "copy.jpg", quality=90)
    rows.append("copy.jpg,0,p99,test")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    images = load_image_set(CsvSpec(path=tmp_path / "m.csv", image_size=32), SplitSpec())
    near = compute_fingerprint(images, DataChecks())["near_duplicates"]
    assert near["pairs"] == 1
    pair = near["listed"][0]
    assert {Path(pair["a"]).name, Path(pair["b"]).name} == {"img00.png", "copy.jpg"} and {pair["split_a"], pair["split_b"]} == {"train", "test"}


def test_a_label_that_the_acquisition_gives_away_is_flagged_with_its_statistic(tmp_path):
    """Benign scans from one site (8-bit, 96 px), malignant from another (16-bit, 128x96): same tissue."""
    rng = np.random.default_rng(4)
    rows = ["path,label,patient_id,site"]
    for i in range(60):
        label = i % 2
        pixels = mammogram(rng, size=96)
        if label:
            wide = np.zeros((128, 96), dtype=np.uint16)
            wide[:96] = pixels.astype(np.uint16) * 257
            Image.fromarray(wide).save(tmp_path / f"m{i:02d}.png")
        else:
            Image.fromarray(pixels).save(tmp_path / f"b{i:02d}.png")
        rows.append(f"{'m' if label else 'b'}{i:02d}.png,{label},p{i},{'B' if label else 'A'}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    images = load_image_set(CsvSpec(path=tmp_path / "m.csv", image_size=32), SplitSpec(validation=0.3, test=0.2))
    fingerprint = compute_fingerprint(images, DataChecks())
    shortcut = fingerprint["shortcuts"]
    assert shortcut["acquisition_predicts_label"] and shortcut["acquisition_scores"]["val"]["ci95"][0] > 0.5
    assert shortcut["strongest"] in ("stored size and aspect ratio", "bit depth", "corner brightness")  # never the histogram
    assert any("predicted without looking at the lesion" in w for w in fingerprint["warnings"])
    assert any("mixed bit depths" in w for w in fingerprint["warnings"])
    assert sorted(set(fingerprint["per_image"]["sites"])) == ["A", "B"]


def test_mixed_8_and_16_bit_files_in_one_folder_are_a_warning_naming_files(tmp_path):
    root = write_folder(tmp_path / "data", n=6)
    wide = (np.asarray(Image.open(root / "malignant" / "malignant_000.png")).astype(np.uint16) * 257)
    Image.fromarray(wide).save(root / "malignant" / "malignant_000.png")
    fingerprint = compute_fingerprint(load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25)), DataChecks())
    assert fingerprint["sizes"]["bits"] == {"8": 11, "16": 1}
    warning = [w for w in fingerprint["warnings"] if "mixed bit depths" in w]
    assert len(warning) == 1 and "16-bit: 0 benign, 1 malignant" in warning[0] and "malignant_000.png" in warning[0]


def test_the_fingerprint_is_cached_per_data_set_and_checks(tmp_path, monkeypatch):
    root = write_folder(tmp_path / "data", n=6)
    images = load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25), cache_dir=tmp_path / "cache")
    first = cached_fingerprint(images, DataChecks(), tmp_path / "cache")
    from mammosearch.data.checks import _summary as summary

    monkeypatch.setattr(summary, "compute_fingerprint", lambda *a, **k: pytest.fail("computed again"))
    again = load_image_set(FolderSpec(root=root, image_size=32), SplitSpec(validation=0.25), cache_dir=tmp_path / "cache")
    assert cached_fingerprint(again, DataChecks(), tmp_path / "cache") == json.loads(json.dumps(first))


def _space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_without_a_site_column_the_files_folders_are_the_subgroups(tmp_path):
    rng = np.random.default_rng(5)
    rows = ["path,label,patient_id"]
    for i in range(12):
        folder = tmp_path / ("siteA" if i % 2 else "siteB")
        folder.mkdir(exist_ok=True)
        Image.fromarray(mammogram(rng)).save(folder / f"i{i}.png")
        rows.append(f"{folder.name}/i{i}.png,{i % 3 == 0:d},p{i}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    images = load_image_set(CsvSpec(path=tmp_path / "m.csv", image_size=32), SplitSpec(validation=0.25))
    assert sorted(set(images.provenance.sites)) == ["siteA", "siteB"]
