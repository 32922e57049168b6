"""The command line as a user runs it: real storage, real files, one-line errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import TINY_SPACE, TINY_TRANSFER_SPACE
from mammosearch.cli import app

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _image_folder(root: Path, corrupt: bool = False, empty_class: bool = False) -> Path:
    for cls in ("benign", "malignant"):
        (root / cls).mkdir(parents=True)
        if empty_class and cls == "malignant":
            continue
        for i in range(4):
            Image.fromarray(np.full((40, 40), 30 * i, dtype=np.uint8)).save(root / cls / f"p{i}_{cls}.png")
    if corrupt:
        (root / "benign" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return root


BAD_SPACES = {
    "malformed_yaml": ("study: {n_trials: 3\n", "malformed YAML"),
    "unknown_key": ("trainig: {epochs: 2}\n", "did you mean 'training'"),
    "wrong_type": ("training: {epochs: lots}\n", "training.epochs: expected an integer, got 'lots'"),
    "low_above_high": ("training: {learning_rate: {low: 0.1, high: 0.001}}\n", "`low <= high` must hold"),
    "unknown_family": ("model: {families: [cnn, inception]}\n", "unknown value 'inception' (allowed: cnn, vgg16, resnet50, efficientnetv2-b0, convnext_tiny)"),
    "unknown_head": ("model: {heads: [attention]}\n", "unknown value 'attention'"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPACES))
def test_bad_spaces_give_one_line_and_leave_the_study_alone(case, tiny_study, write_space):
    text, expected = BAD_SPACES[case]
    db = Path(tiny_study["storage"].removeprefix("sqlite:///"))
    before = _sha(db)
    result = runner.invoke(app, ["run", "--space", str(write_space(text)), "--storage", tiny_study["storage"], "--study", "tiny"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], result.output
    assert "Traceback" not in result.output
    assert _sha(db) == before


@pytest.mark.parametrize(
    "folder_kind, expected",
    [("missing", "does not exist"), ("empty_class", "malignant"), ("corrupt", "broken.png")],
)
def test_bad_data_gives_one_line_naming_the_path(folder_kind, expected, tmp_path, tiny_study, write_space):
    root = tmp_path / "images"
    if folder_kind != "missing":
        _image_folder(root, corrupt=folder_kind == "corrupt", empty_class=folder_kind == "empty_class")
    space = write_space(f"data: {{source: folder, root: {root}, image_size: 32}}\nmodel: {{families: [cnn]}}\n")
    db = Path(tiny_study["storage"].removeprefix("sqlite:///"))
    before = _sha(db)
    result = runner.invoke(app, ["run", "--space", str(space), "--storage", tiny_study["storage"], "--study", "tiny"])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "Traceback" not in result.output
    assert _sha(db) == before


def test_an_unopenable_storage_is_one_line_with_the_password_masked(write_space):
    result = runner.invoke(app, ["report", "--storage", "postgresql+nodriver://alice:hunter2@db.example/x"])
    assert result.exit_code == 4
    assert "hunter2" not in result.output and "alice:***@" in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1


def test_report_writes_leaderboard_csv_json_and_plots(tiny_study):
    args = ["--storage", tiny_study["storage"], "--results-dir", str(tiny_study["results"])]
    table = runner.invoke(app, ["report", *args, "--top", "2"])
    assert table.exit_code == 0, table.output
    assert "Leaderboard" in table.output and "Per family" in table.output and "3 complete" in table.output
    as_json = runner.invoke(app, ["report", *args, "--format", "json"])
    payload = json.loads(as_json.stdout)
    assert payload["study"] == "tiny" and payload["state_counts"]["complete"] == 3
    aucs = [row["val_auc"] for row in payload["leaderboard"]]
    assert aucs == sorted(aucs, reverse=True) and len(aucs) == 3
    as_csv = runner.invoke(app, ["report", *args, "--format", "csv"])
    header = as_csv.stdout.splitlines()[0].split(",")
    assert {"val_auc", "val_auc_ci_low", "val_precision_05", "val_recall_05", "val_specificity_05", "val_f1_05", "test_auc"} <= set(header)
    report_dir = tiny_study["results"] / "tiny" / "report"
    for name in ("leaderboard.csv", "trials.csv", "families.csv", "report.json", "roc_top.png", "confusion_best.png", "history.png"):
        assert (report_dir / name).stat().st_size > 0, name


def test_export_best_reproduces_the_stored_probabilities_in_a_fresh_process(tiny_study, tmp_path):
    out = tmp_path / "exported"
    result = runner.invoke(app, ["export-best", "--storage", tiny_study["storage"], "--out", str(out)])
    assert result.exit_code == 0, result.output
    card = json.loads((out / "model_card.json").read_text())
    best = card["trial"]
    assert card["objective"]["value"] == tiny_study["summary"].best_value
    assert card["input"]["shape"] == [32, 32, 1] and card["threshold"]["recommended"] is not None
    assert card["packages"]["keras"] and card["packages"]["optuna"]
    # A fresh interpreter: load in safe mode, rebuild the validation split with the same
    # loader the search used, and compare with the probabilities stored at search time.
    script = f"""
import json, sys, numpy as np, keras
from mammosearch.config.reader import load_space
from mammosearch.data.loading import load_image_set
space = load_space(__import__('pathlib').Path({str(tiny_study['space_file'])!r}))
val = load_image_set(space.data, space.split).subset('val')
model = keras.saving.load_model({str(out / 'model.keras')!r}, safe_mode=True)
scores = model.predict(val.images.astype('float32'), verbose=0).reshape(-1)
stored = json.load(open({str(out / 'predictions.json')!r}))['val']
assert stored['labels'] == [int(v) for v in val.labels]
print(float(np.max(np.abs(scores - np.array(stored['scores'])))))
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.strip().splitlines()[-1]) < 1e-5
    assert best == tiny_study["summary"].best_number


def test_export_without_completed_trials_is_a_clear_error(tmp_path, write_space):
    storage = f"sqlite:///{tmp_path / 'empty.db'}"
    import optuna

    optuna.create_study(storage=storage, study_name="empty")
    result = runner.invoke(app, ["export-best", "--storage", storage])
    assert result.exit_code == 5 and "has no completed trial yet" in result.output


def test_the_installed_command_runs_resumes_and_reports(tmp_path):
    """The real console script in a subprocess, as the README tells a user to run it."""
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE.replace("n_trials: 3", "n_trials: 2"))
    exe = Path(sys.executable).parent / "mammosearch"
    env = {**os.environ, "COLUMNS": "200"}
    first = subprocess.run([str(exe), "run", "--space", str(space)], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "study tiny" in first.stdout and "2 new trials, 2 finished" in first.stdout
    assert (tmp_path / "results" / "mammosearch.db").is_file()
    again = subprocess.run([str(exe), "run", "--space", str(space), "--n-trials", "3"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0 and "resuming: 2 trials already finished" in again.stdout
    assert "1 new trial, 3 finished" in again.stdout
    report = subprocess.run([str(exe), "report"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert report.returncode == 0 and "Leaderboard" in report.stdout
    assert "oneDNN" not in first.stderr + again.stderr  # backend start-up noise is hidden


def test_optuna_reads_the_study_as_any_other(tiny_study):
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "optuna"), "trials", "--study-name", "tiny", "--storage", tiny_study["storage"], "-f", "json"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)) == 3


def test_offline_imagenet_weights_stop_the_run_naming_the_file_and_url(tmp_path, monkeypatch, write_space):
    import dataclasses

    from mammosearch.models import FAMILIES

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    # A port on this machine that refuses connections stands in for "no internet".
    vgg16 = FAMILIES["vgg16"]
    offline = dataclasses.replace(vgg16, imagenet=dataclasses.replace(vgg16.imagenet, url="http://127.0.0.1:9/vgg16_notop.h5"))
    monkeypatch.setitem(FAMILIES, "vgg16", offline)
    space = write_space("model: {families: [vgg16], weights: imagenet}\n")
    result = runner.invoke(app, ["run", "--space", str(space), "--storage", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert str(tmp_path / "keras_home" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") in error[0]
    assert "http://127.0.0.1:9/vgg16_notop.h5" in error[0] and "weights" in error[0]


def test_data_inspect_shows_counts_leakage_and_writes_a_sample_grid(tmp_path, write_space):
    from PIL import Image as PILImage

    space = write_space("study: {name: look}\ndata: {source: synthetic, n_images: 40, image_size: 32}\n")
    result = runner.invoke(app, ["data", "inspect", "--space", str(space), "--results-dir", str(tmp_path / "res"), "--per-class", "4"])
    assert result.exit_code == 0, result.output
    assert "no patient appears in two splits" in result.output
    assert "20 (10)" in result.output  # 20 images of 10 patients per class in all splits
    grid = tmp_path / "res" / "look" / "data" / "samples.png"
    with PILImage.open(grid) as image:
        assert image.size[0] > 200 and image.size[1] > 100


def _trials_without_assembling(space_path: Path, storage: str, results: Path) -> None:
    """What a run killed after its last trial leaves: `run_study` up to, not including, the assembly."""
    from mammosearch.config import load_space
    from mammosearch.search import RunOptions, run_trials, setup_study

    space = load_space(space_path)
    options = RunOptions(storage_url=storage, results_dir=results, assemble_at_end=False)
    run_trials(setup_study(space, options), space, options, None)


@pytest.mark.parametrize("assembled_by", ["the end of the run", "export-best after an interrupted run"])
def test_a_head_trained_on_cached_activations_exports_a_full_model_that_reproduces_it(assembled_by, tmp_path, write_space):
    space = write_space(TINY_TRANSFER_SPACE, "transfer.yaml")
    storage = f"sqlite:///{tmp_path / 't.db'}"
    results = tmp_path / "res"
    if assembled_by == "the end of the run":
        run = runner.invoke(app, ["run", "--space", str(space), "--storage", storage, "--results-dir", str(results)])
        assert run.exit_code == 0, run.output
    else:
        _trials_without_assembling(space, storage, results)
    import optuna

    trials = optuna.load_study(study_name="tiny_transfer", storage=storage).trials
    assert {t.user_attrs["training_path"] for t in trials} == {"cached activations"}
    kept = [Path(t.user_attrs["model_path"]) for t in trials if "model_path" in t.user_attrs and Path(t.user_attrs["model_path"]).parent.exists()]
    assert len(kept) == 1  # keep_top_k: 1
    # During the search only the head's weights are written; the full model is assembled once.
    assert kept[0].is_file() == (assembled_by == "the end of the run")
    assert (kept[0].parent / "head.weights.h5").is_file() == (assembled_by != "the end of the run")
    if assembled_by != "the end of the run":
        listing = runner.invoke(app, ["report", "--storage", storage, "--results-dir", str(results)])
        assert listing.exit_code == 0 and "missing" not in listing.output.lower(), listing.output
    out = tmp_path / "exported"
    assert runner.invoke(app, ["export-best", "--storage", storage, "--out", str(out)]).exit_code == 0
    script = f"""
import json, numpy as np, keras
from pathlib import Path
from mammosearch.config.reader import load_space
from mammosearch.data.loading import load_image_set
space = load_space(Path({str(space)!r}))
val = load_image_set(space.data, space.split).subset('val')
model = keras.saving.load_model({str(out / 'model.keras')!r}, safe_mode=True)
assert model.get_layer('vgg16') is not None  # the full model: image in, probability out
scores = model.predict(val.images.astype('float32'), verbose=0).reshape(-1)
stored = json.load(open({str(out / 'predictions.json')!r}))['val']
print(float(np.max(np.abs(scores - np.array(stored['scores'])))))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.strip().splitlines()[-1]) < 1e-4


@pytest.mark.parametrize("width", [80, 120, 250])
def test_the_leaderboard_fits_the_terminal_without_cutting_cells(tiny_study, width):
    """A narrow terminal hides the least important columns (and says so) instead of truncating every cell."""
    from rich.console import Console

    from mammosearch.report import build_report
    from mammosearch.report.terminal import print_report
    from mammosearch.store import load_study

    record = load_study(tiny_study["storage"], "tiny")
    console = Console(width=width, record=True, color_system=None)
    print_report(console, build_report(record, tiny_study["results"], write_files=False))
    text = console.export_text()
    board = text[text.index("Leaderboard") : text.index("Per family")]
    assert "…" not in board and max(len(line) for line in board.splitlines()) <= width
    for always in ("trial", "family", "AUC", "95% CI", "sens", "spec", "test AUC"):
        assert always.split()[0] in board, always
    assert ("hidden at this terminal width" in text) == (width < 200)


def test_version_prints_the_package_version():
    import re
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"mammosearch {version('mammosearch')}"
    # The version the installed metadata carries is the one pyproject.toml declares.
    # (A regular expression, not tomllib: the project still runs on Python 3.10.)
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)[1] == version("mammosearch")


def test_validate_takes_set_like_run(tmp_path, monkeypatch, write_space):
    space = write_space(TINY_SPACE)
    result = runner.invoke(app, ["validate", "--space", str(space), "--set", "study.n_trials=1"])
    assert result.exit_code == 0, result.output
    assert "1 trial," in result.output and "1 trials" not in result.output
    # A --set path is resolved against the working directory, as in the shell it was typed in.
    work = tmp_path / "work"
    work.mkdir()
    (work / "w.h5").write_bytes(b"")
    monkeypatch.chdir(work)
    ok = runner.invoke(app, ["validate", "--space", str(space), "--set", "model.families=[vgg16]", "--set", "model.weights=w.h5"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["validate", "--space", str(space), "--set", "training.epochs=lots"])
    lines = [line for line in bad.output.splitlines() if line.strip()]
    assert bad.exit_code == 2 and len(lines) == 1 and "training.epochs: expected an integer, got 'lots'" in lines[0], bad.output


def test_mini_mias_not_found_names_the_data_variable(tmp_path, monkeypatch, write_space):
    space = write_space("data: {source: mias}\nmodel: {families: [cnn]}\n")
    monkeypatch.setenv("MAMMOSEARCH_DATA", str(tmp_path / "datasets"))
    result = runner.invoke(app, ["data", "inspect", "--space", str(space), "--results-dir", str(tmp_path / "results")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0 and len(lines) == 1, result.output
    assert "MAMMOSEARCH_DATA=" in lines[0] and str(tmp_path / "datasets" / "mini-mias") in lines[0]
    (tmp_path / "datasets" / "mini-mias").mkdir(parents=True)
    empty = runner.invoke(app, ["data", "inspect", "--space", str(space), "--results-dir", str(tmp_path / "results")])
    assert "Info.txt" in empty.output and "MAMMOSEARCH_DATA" in empty.output, empty.output
    monkeypatch.delenv("MAMMOSEARCH_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    unset = runner.invoke(app, ["data", "inspect", "--space", str(space), "--results-dir", str(tmp_path / "results")])
    assert "MAMMOSEARCH_DATA is not set" in unset.output and "export MAMMOSEARCH_DATA=" in unset.output, unset.output
