"""Hostile input, one test each: what a lab's odd files, a crafted space or a tampered model get.

The README's "Hostile input" table lists the same cases and outcomes.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import unpack
from mammosearch.apply.export import export_best
from mammosearch.cli import app
from mammosearch.data import FolderSpec, load_folder
from mammosearch.errors import DataError, ExportError, TrialFailed
from mammosearch.store import StudyDir, load_study, safe_name
from mammosearch.trial.fit import Arrays, fit_two_phase
from model_params import params_for

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def _folder(root: Path, n: int = 3) -> Path:
    for label, cls in enumerate(("benign", "malignant")):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(np.full((24, 24), 40 * i + 100 * label + 1, dtype=np.uint8)).save(root / cls / f"{cls}{i}.png")
    return root


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims width x height (a decompression bomb) with no real pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.write_bytes(b""), "cannot read image"),
        (lambda p: (Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(p), p.write_bytes(p.read_bytes()[:400])), "cannot read image"),
        (lambda p: p.write_text("patient notes, not an image"), "cannot read image"),
        (lambda p: _png_header_only(p, 30000, 30000), "decompression bomb"),
    ],
    ids=["zero_bytes", "truncated_png", "text_named_png", "decompression_bomb"],
)
def test_broken_images_are_refused_naming_the_file(tmp_path, make, expected):
    root = _folder(tmp_path / "data")
    bad = root / "benign" / "zzz_bad.png"
    make(bad)
    with pytest.raises(DataError) as info:
        load_folder(FolderSpec(root=root, image_size=16))
    assert "zzz_bad.png" in str(info.value) and expected in str(info.value).lower()


def test_16_bit_and_rgba_images_are_read(tmp_path):
    root = _folder(tmp_path / "data")
    Image.fromarray(np.array([[0, 4095], [2048, 1024]], dtype=np.uint16)).save(root / "benign" / "wide.png")
    Image.fromarray(np.dstack([np.full((8, 8), 200, np.uint8)] * 3 + [np.zeros((8, 8), np.uint8)]), "RGBA").save(root / "malignant" / "alpha.png")
    images, labels, _, _ = unpack(load_folder(FolderSpec(root=root, image_size=2)))
    assert images.dtype == np.uint8 and images.shape[1:] == (2, 2, 1)
    assert images[3].max() == 255 and images[3].min() == 0  # 12 bits in 16 stretched onto 0..255
    assert images[-4, 0, 0, 0] == 200  # RGBA: alpha dropped, not premultiplied


def test_a_symlink_leaving_the_data_root_is_skipped_and_reported(tmp_path):
    root = _folder(tmp_path / "data")
    outside = tmp_path / "elsewhere.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(outside)
    (root / "benign" / "link.png").symlink_to(outside)
    images, _, _, notes = unpack(load_folder(FolderSpec(root=root, image_size=8)))
    assert len(images) == 6
    assert any("skipped 1 link(s) pointing outside" in n and "benign/link.png" in n for n in notes)


def test_identical_files_in_both_classes_are_reported(tmp_path):
    root = _folder(tmp_path / "data")
    (root / "malignant" / "copy.png").write_bytes((root / "benign" / "benign1.png").read_bytes())
    _, _, _, notes = unpack(load_folder(FolderSpec(root=root, image_size=8)))
    assert any("appear under both classes" in n and "benign/benign1.png = malignant/copy.png" in n for n in notes)


def test_study_names_cannot_escape_the_results_folder(tmp_path):
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert StudyDir(tmp_path, "../../x").root.resolve().is_relative_to(tmp_path.resolve())


def test_a_model_file_with_a_lambda_layer_is_refused_at_export(tmp_path):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "trials" / "model.keras"
    path.parent.mkdir()
    model.save(path)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=storage, study_name="tampered", direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=0.9, user_attrs={"model_path": str(path), "params": {"family": "cnn"}}))
    with pytest.raises(ExportError, match="cannot load .*model.keras in safe mode"):
        export_best(load_study(storage, "tampered"), tmp_path / "out")
    assert not (tmp_path / "out" / "model.keras").exists()


def test_user_text_is_shown_literally_in_the_report(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    name = "[bold red]pwn[/] <script>alert(1)</script>"
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    study.set_user_attr("data_description", "folder [link=file:///etc]x[/link]")
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs={"fail_reason": "[red]boom[/red]"}))
    result = CliRunner().invoke(app, ["report", "--storage", storage, "--results-dir", str(tmp_path / "r")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert name in result.output and "[link=file:///etc]x[/link]" in result.output and "[red]boom[/red]" in result.output


def test_an_exploding_learning_rate_fails_the_trial_with_the_reason():
    keras.backend.clear_session()
    params = params_for("cnn", optimizer="sgd", learning_rate=1e12, epochs=3)
    from mammosearch.models import build_model

    model = build_model(params, 1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 32, 32, 1)).astype("float32")
    y = np.array([0, 1] * 8, dtype="float32")
    with pytest.raises(TrialFailed, match="non-finite training loss"):
        fit_two_phase(model, params, Arrays(x, y), Arrays(x, y))


def test_an_unwritable_artifact_folder_fails_that_trial_and_the_study_goes_on(tmp_path):
    from conftest import TINY_SPACE
    from mammosearch.config import parse_space
    from mammosearch.search import RunOptions, run_study

    results = tmp_path / "results"
    (results / "tiny").mkdir(parents=True)
    (results / "tiny" / "trials").write_text("a file where the trials folder should be")  # any OSError on save
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 's.db'}", results_dir=results)
    summary = run_study(parse_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 2")), options)
    assert summary.finished_trials == 2
    rows = load_study(options.storage_url, "tiny").rows
    assert [r.state for r in rows] == ["failed", "failed"]
    assert all("cannot save the trial's model" in r.fail_reason for r in rows)
