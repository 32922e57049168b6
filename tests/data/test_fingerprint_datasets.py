"""`mammosearch data inspect` on three real data sets: mini-MIAS, mini-MIAS with a third of it
written as MONOCHROME1 DICOM (and some as inverted PNGs), and DICOM folders whose names share patients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import MINI_MIAS
from dicom_files import write_dicom
from mammosearch.cli import app

# Builds studies or reads whole real data sets: left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()
NEEDS_MIAS = pytest.mark.skipif(not MINI_MIAS.is_dir(), reason=f"mini-MIAS is not at {MINI_MIAS} (../shared/datasets/mini-mias)")


def inspect(tmp_path: Path, data: str) -> str:
    space = tmp_path / "space.yaml"
    space.write_text(f"study: {{name: look}}\ndata: {data}\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "inspect", "--space", str(space), "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


@NEEDS_MIAS
def test_inspect_mini_mias(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOSEARCH_DATA", str(MINI_MIAS.parent))
    out = inspect(tmp_path, "{source: mias, image_size: 64}")
    assert "119 lesion crops" in out and "0 look inverted" in out and "ids from the data set itself" in out
    assert "near-duplicates across splits" in out and "shortcut check" in out


def _abnormal(info: Path) -> dict[str, int]:
    abnormal: dict[str, int] = {}
    for line in info.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith("mdb") and len(parts[0]) == 6:
            abnormal[parts[0]] = max(abnormal.get(parts[0], 0), int(parts[2] != "NORM"))
    return abnormal


@NEEDS_MIAS
def test_inspect_mini_mias_with_a_third_as_monochrome1_dicom_and_some_inverted_pngs(tmp_path):
    labels = _abnormal(MINI_MIAS / "Info.txt")
    rows = ["path,label,patient_id"]
    inverted_png = {0: 0, 1: 0}
    for index, refnum in enumerate(sorted(labels)[:120]):
        label = labels[refnum]
        pixels = np.asarray(Image.open(MINI_MIAS / "images" / f"{refnum}.png").resize((256, 256)))
        if index % 3 == 0:
            # MONOCHROME1: high stored values are dark; 12 bits, as a screening export would write it.
            stored = (4095 - pixels.astype(np.uint16) * 16).astype(np.uint16)
            name = write_dicom(tmp_path / f"{refnum}.dcm", stored, photometric="MONOCHROME1", bits_stored=12).name
        elif index % 3 == 1 and (label == 0 or index % 9 == 1):
            # Inverted pixels with no tag saying so: only the detector can find these (more of them benign).
            Image.fromarray(255 - pixels).save(tmp_path / f"{refnum}.png")
            name = f"{refnum}.png"
            inverted_png[label] += 1
        else:
            Image.fromarray(pixels).save(tmp_path / f"{refnum}.png")
            name = f"{refnum}.png"
        rows.append(f"{name},{label},woman{(int(refnum[3:]) + 1) // 2}")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    out = inspect(tmp_path, f"{{source: csv, path: {tmp_path / 'm.csv'}, image_size: 64, split: {{validation: 0.25, test: 0.25}}}}")
    assert "40 DICOM file(s) are MONOCHROME1 and were inverted by the decoder" in out
    flipped = sum(inverted_png.values())
    assert f"{flipped} of 120 images look inverted" in out and "flipped to dark background" in out
    assert "unevenly spread over the classes" in out
    assert "mixed bit depths" in out  # 12-bit DICOMs beside 8-bit PNGs


def _dicom_folder(root: Path, with_patient_ids: bool) -> Path:
    rng = np.random.default_rng(0)
    for label, name in enumerate(("benign", "malignant")):
        (root / name).mkdir(parents=True)
        for patient in range(5):
            pid = f"P_{patient + 10 * label:05d}"
            for view in ("LEFT_CC", "LEFT_MLO", "RIGHT_CC"):
                pixels = (rng.random((64, 64)) * 3000 + 500).astype(np.uint16)
                pixels[:, :16] = 0  # a dark background strip
                write_dicom(root / name / f"{pid}_{view}.dcm", pixels, bits_stored=12, patient_id=pid if with_patient_ids else None)
    return root


def test_inspect_a_dicom_folder_takes_patients_from_patient_id(tmp_path):
    root = _dicom_folder(tmp_path / "tagged", with_patient_ids=True)
    out = inspect(tmp_path, f"{{source: folder, root: {root}, image_size: 32}}")
    assert "patients: 10, ids from the DICOM PatientID tag" in out


def test_inspect_a_dicom_folder_without_ids_suggests_a_patient_regex(tmp_path):
    root = _dicom_folder(tmp_path / "untagged", with_patient_ids=False)
    out = inspect(tmp_path, f"{{source: folder, root: {root}, image_size: 32}}")
    assert "each of the 30 images counts as its own patient" in out
    assert "try data.patient_regex: '^([A-Za-z]+_\\d+)(?=[_\\-. ])'" in out and "10 of them name 3 files each" in out
