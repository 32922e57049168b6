"""export-best writes its folder whole and swaps it in; the card names the model's sha256 and every loader checks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest
from typer.testing import CliRunner

from mammosearch.apply import load_exported
from mammosearch.apply.export import _folder as export_folder
from mammosearch.apply.export import clean_leftovers, export_best, export_ensemble, file_sha256
from mammosearch.cli import app
from mammosearch.errors import ApplyError, ExportError
from mammosearch.store import load_study

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _tiny_model(path: Path, bias: float) -> None:
    """A real 4x4 gray-image model (no custom layers), so safe-mode loading and the card work as for a trial's."""
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", bias_initializer=keras.initializers.Constant(bias))(x)
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(path)


@pytest.fixture
def two_trials(tmp_path: Path) -> str:
    """A study with two complete trials, each with its own saved model file."""
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=storage, study_name="two", direction="maximize")
    for number, value in enumerate((0.9, 0.8)):
        path = tmp_path / "trials" / f"{number:05d}" / "model.keras"
        _tiny_model(path, bias=float(number))
        params = {"family": "cnn", "input_size": 4}
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"model_path": str(path), "params": params}))
    return storage


def _siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_re_export_replaces_the_whole_folder_and_the_card_holds_the_models_sha256(two_trials, tmp_path):
    out = tmp_path / "exported"
    export_best(load_study(two_trials, "two"), out, trial_number=0)
    first = json.loads((out / "model_card.json").read_text())
    export_best(load_study(two_trials, "two"), out, trial_number=1)
    card = json.loads((out / "model_card.json").read_text())
    assert first["trial"] == 0 and card["trial"] == 1
    assert card["model_sha256"] == file_sha256(out / "model.keras") == file_sha256(tmp_path / "trials" / "00001" / "model.keras")
    assert first["model_sha256"] != card["model_sha256"]
    assert _siblings(out) == []  # no staging or replaced folder left behind
    assert load_exported(out).card["trial"] == 1


def test_an_ensemble_export_is_staged_and_carries_its_sha256(two_trials, tmp_path):
    out = tmp_path / "ensemble"
    export_ensemble(load_study(two_trials, "two"), out, 2)
    card = json.loads((out / "model_card.json").read_text())
    assert card["model_sha256"] == file_sha256(out / "model.keras") and card["ensemble"]["members"]
    assert _siblings(out) == [] and load_exported(out).card["model_sha256"] == card["model_sha256"]


@pytest.mark.parametrize("command", ["predict", "evaluate", "explain"])
def test_a_model_that_is_not_the_one_its_card_describes_is_refused_in_one_line(two_trials, tmp_path, command):
    out = tmp_path / "exported"
    export_best(load_study(two_trials, "two"), out, trial_number=0)
    # What a kill between two file replacements used to leave: another model under this card.
    (out / "model.keras").write_bytes((tmp_path / "trials" / "00001" / "model.keras").read_bytes())
    with pytest.raises(ApplyError, match=r"model\.keras \(sha256 .*\) is not the model .*model_card\.json describes"):
        load_exported(out)
    image = tmp_path / "x.png"
    image.write_bytes(b"not read: the model is refused first")
    result = CliRunner().invoke(app, [command, str(out), str(image)], env={"COLUMNS": "300"})
    assert result.exit_code != 0
    assert "is not the model" in result.output and "model_card.json" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_folder_holding_other_files_is_not_replaced(two_trials, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match=r"holds files export-best did not write \(notes\.txt\)"):
        export_best(load_study(two_trials, "two"), out)
    assert (out / "notes.txt").read_text() == "keep me" and _siblings(out) == []


def test_a_kill_while_writing_leaves_the_old_export_whole_and_the_next_export_cleans_up(two_trials, tmp_path):
    out = tmp_path / "exported"
    export_best(load_study(two_trials, "two"), out, trial_number=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # A real process killed (SIGKILL) after writing the new model and before the card.
    script = (
        "import os, shutil, sys\n"
        "from pathlib import Path\n"
        "from mammosearch.apply.export import staged_export\n"
        "with staged_export(Path(sys.argv[1])) as staged:\n"
        "    shutil.copyfile(sys.argv[2], staged / 'model.keras')\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.run([sys.executable, "-c", script, str(out), str(tmp_path / "trials" / "00001" / "model.keras")], env=env, timeout=120)
    assert proc.returncode == -9
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old export, whole
    assert len(_siblings(out)) == 1  # the dead process's staging folder...
    load_exported(out)  # ...which loaders ignore
    export_best(load_study(two_trials, "two"), out, trial_number=1)
    assert _siblings(out) == [] and json.loads((out / "model_card.json").read_text())["trial"] == 1


def test_without_an_atomic_exchange_the_old_export_is_renamed_aside_and_put_back_after_a_kill(two_trials, tmp_path, monkeypatch):
    out = tmp_path / "exported"
    export_best(load_study(two_trials, "two"), out, trial_number=0)
    monkeypatch.setattr(export_folder, "_exchange", lambda a, b: False)  # a file system without renameat2
    export_best(load_study(two_trials, "two"), out, trial_number=1)
    assert json.loads((out / "model_card.json").read_text())["trial"] == 1 and _siblings(out) == []
    # The state a kill between the two renames leaves: no export folder, the old one aside
    # under a process that is gone. The next export (or clean_leftovers) puts it back whole.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    aside = out.with_name(f".{out.name}.replaced-{export_folder._host()}-{dead}-abcd1234")
    out.rename(aside)
    clean_leftovers(out)
    assert not aside.exists() and load_exported(out).card["trial"] == 1
    assert np.isfinite(load_exported(out).model.predict(np.zeros((1, 4, 4, 1)), verbose=0)).all()


def test_an_export_folder_reached_by_a_symlink_is_replaced_where_it_lives(two_trials, tmp_path):
    real = tmp_path / "models" / "best"
    export_best(load_study(two_trials, "two"), real, trial_number=0)
    link = tmp_path / "exported"
    link.symlink_to(real, target_is_directory=True)
    export_best(load_study(two_trials, "two"), link, trial_number=1)
    assert link.is_symlink() and load_exported(link).card["trial"] == 1 and load_exported(real).card["trial"] == 1
    assert _siblings(real) == [] and _siblings(link) == []
