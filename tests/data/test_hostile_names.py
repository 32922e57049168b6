"""Odd directory entries named like images, through the real CLI: a link to nothing, a link loop, a name that is not UTF-8.

A git-annex or DVC file that was never fetched is exactly a link to nothing. Training
sources refuse each in one line naming the file (its foreign bytes shown as ``\\xNN``);
``predict`` and ``explain``, which already go on past unreadable files, list them as
failed and keep every finished score, the odd name written escaped.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.data import CsvSpec
from mammosearch.data.sources.csv import load_manifest
from mammosearch.errors import DataError

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()
UNDECODABLE = b"\xff\xfe.png"  # Latin-1 bytes, not UTF-8: Python holds them as surrogates


def _png(path: Path | bytes, value: int) -> None:
    Image.fromarray(np.full((24, 24), value, dtype=np.uint8)).save(path)


def _dangling(folder: Path) -> str:
    os.symlink("../.git/annex/objects/missing.png", folder / "annexed.png")
    return "annexed.png is a symbolic link to ../.git/annex/objects/missing.png, which does not exist"


def _loop(folder: Path) -> str:
    os.symlink("loop_b.png", folder / "loop_a.png")
    os.symlink("loop_a.png", folder / "loop_b.png")
    return "loop_a.png is a symbolic link loop"


def _undecodable(folder: Path) -> str:
    _png(os.fsencode(folder) + b"/" + UNDECODABLE, 90)
    return "\\xff\\xfe.png is not valid UTF-8"


ODD: dict[str, Callable[[Path], str]] = {"dangling_link": _dangling, "link_loop": _loop, "undecodable_name": _undecodable}


def _folder(root: Path, odd: str) -> tuple[Path, str]:
    for label, cls in enumerate(("benign", "malignant")):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            _png(root / cls / f"{cls}{i}.png", 30 * i + 100 * label + 1)
    return root, ODD[odd](root / "benign")


def _one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize("odd", ODD)
@pytest.mark.parametrize("command", ["data inspect", "run"])
def test_a_training_folder_with_an_odd_entry_is_one_line_naming_it(tmp_path, write_space, command, odd):
    root, expected = _folder(tmp_path / "data", odd)
    space = write_space(f"study: {{name: odd, n_trials: 1}}\ndata: {{source: folder, root: {root}, image_size: 16}}\n"
                        "model: {families: [cnn], input_size: 16}\ntraining: {epochs: 1}\n")
    result = runner.invoke(app, [*command.split(), "--space", str(space), "--results-dir", str(tmp_path / "results")])
    assert result.exit_code == 3, result.output
    assert expected in _one_line(result).replace("\n", "")


@pytest.mark.parametrize("odd", ["dangling_link", "link_loop"])
def test_a_manifest_row_naming_a_broken_link_is_one_line_naming_the_row(tmp_path, odd):
    folder = tmp_path / "images"
    folder.mkdir()
    _png(folder / "a.png", 10)
    expected = ODD[odd](folder)
    name = "annexed.png" if odd == "dangling_link" else "loop_a.png"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"path,label\nimages/a.png,0\nimages/{name},1\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_manifest(CsvSpec(path=manifest, image_size=16))
    assert f"{manifest}:3:" in str(caught.value) and expected in str(caught.value)


@pytest.fixture
def odd_inputs(tmp_path: Path) -> Path:
    """Three readable images, one of them named in bytes that are not UTF-8, and a link to nothing and a loop."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    _png(folder / "ok0.png", 40)
    _png(folder / "ok1.png", 160)
    for make in ODD.values():
        make(folder)
    return folder


def test_predict_keeps_every_finished_score_and_writes_an_undecodable_name_escaped(tiny_study, odd_inputs, tmp_path):
    out = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", "--study", "tiny", "--storage", tiny_study["storage"], "--results-dir",
                                 str(tiny_study["results"]), str(odd_inputs), "--out", str(out)])
    assert result.exit_code == 3 and "Traceback" not in result.output, result.output  # 3: some inputs failed, the rest written
    with out.open(newline="", encoding="utf-8") as handle:  # valid UTF-8, whatever the names were
        rows = {Path(row["path"]).name: row for row in csv.DictReader(handle)}
    assert set(rows) == {"ok0.png", "ok1.png", "\\xff\\xfe.png", "annexed.png", "loop_a.png", "loop_b.png"}
    for name in ("ok0.png", "ok1.png", "\\xff\\xfe.png"):
        assert 0.0 <= float(rows[name]["probability_malignant"]) <= 1.0 and not rows[name]["error"]
    assert "does not exist" in rows["annexed.png"]["error"] and "link loop" in rows["loop_a.png"]["error"]
    failed = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert len(failed) == 3 and "scored 3 of 6" in result.output.replace("\n", "")


def test_explain_draws_and_records_an_undecodable_name(tiny_study, odd_inputs, tmp_path):
    out = tmp_path / "explained"
    result = runner.invoke(app, ["explain", "--study", "tiny", "--storage", tiny_study["storage"], "--results-dir",
                                 str(tiny_study["results"]), str(odd_inputs), "--out", str(out)])
    assert result.exit_code == 3 and "Traceback" not in result.output, result.output
    assert (out / "grid.png").is_file() and len(list((out / "overlays").iterdir())) == 3


def test_evaluate_on_a_folder_with_a_link_to_nothing_is_one_line(tiny_study, tmp_path):
    root, expected = _folder(tmp_path / "data", "dangling_link")
    result = runner.invoke(app, ["evaluate", "--study", "tiny", "--storage", tiny_study["storage"], "--results-dir",
                                 str(tiny_study["results"]), "--data", "source=folder", "--data", f"root={root}"])
    assert result.exit_code == 3 and expected in _one_line(result).replace("\n", "")


def test_cbis_ddsm_names_the_csv_row_of_an_unfetched_dicom_and_ignores_a_stray_undecodable_name(tmp_path):
    from cbis_files import _dicom_fixture, _rows
    from mammosearch.data import CbisDdsmSpec, SplitSpec, load_image_set

    root = _dicom_fixture(tmp_path / "cbis")
    crop = root / _rows("mass", "train", 3, 0)[2]["cropped image file path"]
    crop.unlink()
    os.symlink("/annex/objects/never-fetched.dcm", crop)
    Path(os.fsdecode(os.fsencode(root) + b"/stray-\xe9.dcm")).write_bytes(b"not part of the set")  # Latin-1 e-acute
    with pytest.raises(DataError) as caught:  # the cache key lists every file under the root: the stray name must not break it
        load_image_set(CbisDdsmSpec(root=root, image_size=16), SplitSpec(), cache_dir=tmp_path / "cache")
    assert "mass_case_description_train_set.csv:4:" in str(caught.value) and "never-fetched.dcm, which does not exist" in str(caught.value)
