"""Results that belong to one study stay with it: one folder per study, claimed by the study's id, refused to others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import keras
import optuna
import pytest
from typer.testing import CliRunner

from conftest import TINY_SPACE
from mammosearch.apply.export import file_sha256
from mammosearch.cli import app
from mammosearch.errors import StorageError
from mammosearch.store import StudyDir, claimed_study_dir, owned_study_dir
from mammosearch.store.artifacts import OWNER_FILE, folder_name
from mammosearch.store.record import study_uid_of

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow
runner = CliRunner()
SRC = str(Path(__file__).resolve().parents[2] / "src")


def test_names_that_clean_to_the_same_folder_get_their_own_folders(tmp_path):
    long_a, long_b = "x" * 120 + "a", "x" * 120 + "b"
    names = ["my study", "my_study", "runs/my_study", "my_study/", long_a, long_b, "../../etc/passwd", "etc_passwd"]
    folders = [folder_name(n) for n in names]
    assert len(set(folders)) == len(names), folders
    assert folder_name("my_study") == "my_study" and folder_name("tiny") == "tiny"  # a harmless name is its own folder
    for name in names:
        root = StudyDir(tmp_path, name).root
        assert root.parent == tmp_path and len(root.name) <= 120


def _space(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{abs(hash(name))}.yaml"
    path.write_text(TINY_SPACE.replace("name: tiny", f"name: {json.dumps(name)}").replace("n_trials: 3", "n_trials: 2").replace("keep_top_k: 2", "keep_top_k: 1"))
    return path


def test_two_studies_whose_names_clean_alike_keep_their_own_models_and_exports(tmp_path):
    results, storage = tmp_path / "results", f"sqlite:///{tmp_path / 'results' / 'mammosearch.db'}"
    for name in ("a b", "a_b"):  # both cleaned to results/a_b/ before: the second dropped the first's models
        run = runner.invoke(app, ["run", "--space", str(_space(tmp_path, name)), "--results-dir", str(results)])
        assert run.exit_code == 0, run.output
    from mammosearch.store import load_study

    for name in ("a b", "a_b"):
        record = load_study(storage, name)
        best = record.ranked()[0]
        assert best.model_path is not None and best.model_path.is_relative_to(StudyDir(results, name).root)
        owner = json.loads((StudyDir(results, name).root / OWNER_FILE).read_text())
        assert owner == {"study_name": name, "study_uid": record.context.study_uid}
        out = tmp_path / f"export-{folder_name(name)}"
        exported = runner.invoke(app, ["export-best", "--results-dir", str(results), "--study", name, "--out", str(out)])
        assert exported.exit_code == 0, exported.output
        card = json.loads((out / "model_card.json").read_text())
        assert card["study"] == name and card["model_sha256"] == file_sha256(best.model_path)


def test_a_study_of_another_storage_with_the_same_name_is_refused_in_one_line(tmp_path):
    results = tmp_path / "results"
    first = optuna.create_study(storage=f"sqlite:///{tmp_path / 'one.db'}", study_name="tiny")
    claimed_study_dir(results, first)
    run = runner.invoke(app, ["run", "--space", str(_space(tmp_path, "tiny")), "--results-dir", str(results), "--storage", f"sqlite:///{tmp_path / 'two.db'}"])
    assert run.exit_code != 0 and "Traceback" not in run.output
    text = " ".join(run.output.split())
    assert f"results folder {results / 'tiny'} belongs to 'tiny' (id {study_uid_of(first.user_attrs)[:8]})" in text, run.output
    second = optuna.load_study(storage=f"sqlite:///{tmp_path / 'two.db'}", study_name="tiny")
    assert not second.trials  # refused before any trial
    report = runner.invoke(app, ["report", "--results-dir", str(results), "--storage", f"sqlite:///{tmp_path / 'two.db'}", "--no-html"])
    assert report.exit_code != 0 and "belongs to 'tiny'" in " ".join(report.output.split())


def test_a_study_from_before_study_ids_gets_one_on_first_open_and_keeps_its_folder(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    old = optuna.create_study(storage=storage, study_name="legacy")  # as older releases left it: no id
    kept = tmp_path / "results" / "legacy" / "trials" / "00000" / "model.keras"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"a kept model")
    study_dir = claimed_study_dir(tmp_path / "results", old)
    uid = study_uid_of(optuna.load_study(storage=storage, study_name="legacy").user_attrs)
    assert uid and study_dir.root == kept.parents[2] and kept.read_bytes() == b"a kept model"
    assert json.loads(study_dir.owner_file.read_text()) == {"study_name": "legacy", "study_uid": uid}
    again = claimed_study_dir(tmp_path / "results", optuna.load_study(storage=storage, study_name="legacy"))
    assert again.root == study_dir.root and study_uid_of(old.user_attrs) == uid
    # Deleted and created again under the old name: a new study, refused the old one's folder.
    optuna.delete_study(storage=storage, study_name="legacy")
    reborn = optuna.create_study(storage=storage, study_name="legacy")
    with pytest.raises(StorageError, match="belongs to 'legacy'.*deleted and created again"):
        claimed_study_dir(tmp_path / "results", reborn)
    with pytest.raises(StorageError, match="belongs to 'legacy'"):
        owned_study_dir(tmp_path / "results", "legacy", "another-id")


def _tiny_model(path: Path) -> None:
    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(inputs))
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inputs, outputs).save(path)


def test_results_written_in_the_old_shared_layout_still_report_and_export(tmp_path):
    results, storage = tmp_path / "results", f"sqlite:///{tmp_path / 'results' / 'mammosearch.db'}"
    results.mkdir()
    legacy = results / "my_study"  # where "my study" lived before per-study folders
    model = legacy / "trials" / "00000" / "model.keras"
    _tiny_model(model)
    study = optuna.create_study(storage=storage, study_name="my study", direction="maximize")
    study.add_trial(optuna.trial.create_trial(value=0.8, user_attrs={"model_path": str(model), "params": {"family": "cnn", "input_size": 4}}))
    report = runner.invoke(app, ["report", "--results-dir", str(results), "--no-html"])
    assert report.exit_code == 0, report.output
    assert (StudyDir(results, "my study").root / "report" / "leaderboard.csv").is_file()
    out = tmp_path / "exported"
    exported = runner.invoke(app, ["export-best", "--results-dir", str(results), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads((out / "model_card.json").read_text())["model_sha256"] == file_sha256(model)


def test_a_kept_model_in_a_folder_claimed_by_another_study_is_not_exported(tmp_path):
    results, storage = tmp_path / "results", f"sqlite:///{tmp_path / 's.db'}"
    other = optuna.create_study(storage=storage, study_name="other")
    model = claimed_study_dir(results, other).model_path(0)
    _tiny_model(model)
    mine = optuna.create_study(storage=storage, study_name="mine", direction="maximize")
    mine.add_trial(optuna.trial.create_trial(value=0.8, user_attrs={"model_path": str(model), "params": {"family": "cnn", "input_size": 4}}))
    exported = runner.invoke(app, ["export-best", "--storage", storage, "--study", "mine", "--out", str(tmp_path / "x")])
    assert exported.exit_code != 0 and "Traceback" not in exported.output
    assert "belongs to 'other'" in " ".join(exported.output.split()) and not (tmp_path / "x").exists()


CLAIM = """
import sys, time
from pathlib import Path
import optuna
from mammosearch.errors import StorageError
from mammosearch.store.ownership import claimed_study_dir
from mammosearch.store.storage import open_storage
study = optuna.load_study(storage=open_storage(f"sqlite:///{sys.argv[1]}"), study_name="same")
Path(sys.argv[4]).touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.002)
try:
    claimed_study_dir(Path(sys.argv[2]), study)
except StorageError:
    sys.exit(9)
"""


def _claim_together(tmp_path: Path, dbs: list[Path]) -> list[int]:
    """One process per database, each claiming results/same/ for its study "same", released at once."""
    go = tmp_path / "go"
    for db in set(dbs):
        optuna.create_study(storage=f"sqlite:///{db}", study_name="same")
    env = {**os.environ, "PYTHONPATH": SRC}
    ready = [tmp_path / f"ready-{i}" for i in range(len(dbs))]
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM, str(db), str(tmp_path / "results"), str(go), str(r)], env=env) for db, r in zip(dbs, ready)]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)  # every process has imported optuna and loaded its study
    go.touch()
    return [p.wait(timeout=120) for p in procs]


def test_workers_of_a_new_study_claiming_its_folder_at_once_agree_on_one_id(tmp_path):
    db = tmp_path / "s.db"
    assert _claim_together(tmp_path, [db, db, db]) == [0, 0, 0]
    owner = json.loads((tmp_path / "results" / "same" / OWNER_FILE).read_text())
    assert owner["study_uid"] == study_uid_of(optuna.load_study(storage=f"sqlite:///{db}", study_name="same").user_attrs)


def test_two_studies_claiming_one_folder_at_once_leave_exactly_one_owner(tmp_path):
    dbs = [tmp_path / "a.db", tmp_path / "b.db"]
    assert sorted(_claim_together(tmp_path, dbs)) == [0, 9]
    owner = json.loads((tmp_path / "results" / "same" / OWNER_FILE).read_text())
    uids = [study_uid_of(optuna.load_study(storage=f"sqlite:///{db}", study_name="same").user_attrs) for db in dbs]
    assert uids.count(owner["study_uid"]) == 1
