"""Kept models in an artifact store (Optuna's artifact API), for nodes that share no results folder.

Real worker processes, each with its own results folder as a node would have, a real
file-system artifact store in a third folder, and `report`, `export-best` and `predict`
from a fourth, empty folder once the training nodes' folders are gone. The S3 case runs
against moto's S3 server (an emulator started by the test, not AWS).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from conftest import TINY_SPACE
from mammosearch.cli import app
from mammosearch.store.artifact_store import ARTIFACTS_ENV, ArtifactStoreError, parse_location
from mammosearch.store.record import study_files, trial_files
from mammosearch.store.record._kept_files import STORE_KEY

optuna.logging.set_verbosity(optuna.logging.ERROR)
EXE = str(Path(sys.executable).parent / "mammosearch")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != ARTIFACTS_ENV}
    return {**env, **extra}


def _one_line(result) -> str:
    return " ".join(result.output.split())


# --- bad input: one line, exit 4, nothing created -------------------------------------------

def test_a_location_is_a_folder_or_a_bucket():
    assert parse_location("file:///shared/models").url == "file:///shared/models"
    assert parse_location("s3://bucket/runs/mias/").url == "s3://bucket/runs/mias"
    assert parse_location("relative/store").place == str(Path("relative/store").absolute())  # recorded absolute for other nodes
    with pytest.raises(ArtifactStoreError, match="unknown scheme 'ftp'"):
        parse_location("ftp://host/x")
    with pytest.raises(ArtifactStoreError, match="three slashes"):
        parse_location("file://shared/models")


@pytest.mark.parametrize(("url", "env", "says"), [
    ("gs://bucket/x", {}, "unknown scheme 'gs'"),
    ("file:///nowhere/mammo-store", {}, "no such folder on this machine"),
    ("s3://AKIAEXAMPLE:hunter2secret@bucket/x", {}, "carries credentials"),
    ("s3://mammo-models/x", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                             "AWS_DEFAULT_REGION": "us-east-1"}, "cannot reach the object store"),
], ids=["scheme", "folder", "credentials", "unreachable"])
def test_a_bad_store_is_one_line_before_anything_is_created(tmp_path, write_space, monkeypatch, url, env, says):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    space = write_space(TINY_SPACE)
    result = CliRunner().invoke(app, ["run", "--space", str(space), "--results-dir", str(tmp_path / "r"), "--setup-only", "--artifacts", url])
    assert result.exit_code == 4, result.output
    assert says in _one_line(result) and "Traceback" not in result.output and "hunter2secret" not in result.output
    assert not (tmp_path / "r" / "mammosearch.db").exists()  # no study was created


def test_s3_without_boto3_says_which_extra_to_install(tmp_path, write_space, monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # as on an installation without the [s3] extra
    space = write_space(TINY_SPACE)
    result = CliRunner().invoke(app, ["run", "--space", str(space), "--results-dir", str(tmp_path / "r"), "--setup-only", "--artifacts", "s3://b/x"])
    assert result.exit_code == 4 and "needs boto3: pip install 'mammosearch[s3]'" in _one_line(result)


# --- a study on two nodes that share nothing but the storage and the store ---------------------

def _stored_files(storage: str) -> tuple[dict[int, dict[str, str]], dict[str, str], dict[str, object]]:
    study = optuna.load_study(study_name="tiny", storage=storage)
    kept = {t.number: trial_files(t.user_attrs, study.user_attrs, t.number) for t in study.trials}
    return {n: f for n, f in kept.items() if f}, study_files(study.user_attrs), study.user_attrs


def _report(runner: CliRunner, storage: str, results: Path) -> dict:
    result = runner.invoke(app, ["report", "--storage", storage, "--results-dir", str(results), "--format", "json", "--no-html"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{"):])


def _predict(runner: CliRunner, storage: str, results: Path, images: Path, out: Path) -> tuple[list[dict[str, str]], str]:
    result = runner.invoke(app, ["predict", "--study", "tiny", "--storage", storage, "--results-dir", str(results), str(images), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle)), _one_line(result)


@pytest.mark.slow
def test_two_workers_on_separate_folders_and_a_file_store_serve_report_export_and_predict_from_a_fourth_folder(tmp_path):
    store, nodes = tmp_path / "store", {name: tmp_path / name for name in ("setup", "node_a", "node_b", "node_c")}
    store.mkdir()
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE)
    setup = subprocess.run([EXE, "run", "--space", str(space), "--storage", storage, "--results-dir", str(nodes["setup"]), "--setup-only"],
                           env=_env(**{ARTIFACTS_ENV: store.as_uri()}), capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    # The workers are told nothing about the store: the set-up recorded it in the study.
    workers = [subprocess.Popen([EXE, "worker", "--study", "tiny", "--storage", storage, "--results-dir", str(nodes[name])], env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for name in ("node_a", "node_b")]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    kept, own, attrs = _stored_files(storage)
    assert attrs[STORE_KEY] == store.as_uri() and set(own) == {"data/fingerprint.json"}
    # A worker's node did not run the set-up: it read the fingerprint (for its notes) from the store.
    fingerprint = (nodes["setup"] / "tiny" / "data" / "fingerprint.json").read_bytes()
    assert all((nodes[name] / "tiny" / "data" / "fingerprint.json").read_bytes() == fingerprint for name in ("node_a", "node_b"))
    trials = optuna.load_study(study_name="tiny", storage=storage).trials
    complete = sorted((t for t in trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: (-t.value, t.number))
    assert len(complete) >= 3
    top = {t.number for t in complete[:2]}  # keep_top_k: 2
    assert set(kept) >= top and all({"model.keras", "predictions.json"} <= set(kept[n]) for n in top)
    # The store holds the top two trials' files and the fingerprint; those pushed out were removed.
    live = {artifact_id for n in top for artifact_id in kept[n].values()} | set(own.values())
    assert {p.name for p in store.iterdir()} == live
    best = complete[0]
    trained_on = Path(best.user_attrs["model_path"]).parents[3]
    assert trained_on in (nodes["node_a"], nodes["node_b"])

    runner = CliRunner()
    images = tmp_path / "images"
    assert runner.invoke(app, ["data", "export", "--space", str(space), "--results-dir", str(nodes["setup"]), "--out", str(images)]).exit_code == 0
    there = _report(runner, storage, trained_on)
    exported_there = runner.invoke(app, ["export-best", "--storage", storage, "--results-dir", str(trained_on), "--out", str(tmp_path / "x_there")])
    assert exported_there.exit_code == 0, exported_there.output
    predicted_there, _ = _predict(runner, storage, trained_on, images, tmp_path / "there.csv")

    # The training nodes are gone: only the storage and the artifact store are left.
    for name in ("setup", "node_a", "node_b"):
        shutil.move(nodes[name], tmp_path / f"{name}.gone")
    here = _report(runner, storage, nodes["node_c"])
    assert here["best_trial"] == there["best_trial"] == best.number
    assert here["leaderboard"] == there["leaderboard"]
    # The ensemble of the kept trials (a training node may also hold a trial another node's pushed out: not compared).
    assert here["ensemble"]["members"] == [t.number for t in complete[:2]]
    assert here["best_trial_subgroups"] == there["best_trial_subgroups"] and here["data_warnings"] == there["data_warnings"]
    assert not any("not on this machine" in w for w in here["warnings"])
    fetched = nodes["node_c"] / "tiny" / "trials"
    assert sorted(p.name for p in fetched.iterdir()) == [f"{n:05d}" for n in sorted(top)]
    assert not (fetched / f"{best.number:05d}" / "model.keras").exists()  # report fetches predictions, not models

    exported = runner.invoke(app, ["export-best", "--storage", storage, "--results-dir", str(nodes["node_c"]), "--out", str(tmp_path / "x_here")])
    assert exported.exit_code == 0, exported.output
    assert _sha(tmp_path / "x_here" / "model.keras") == _sha(tmp_path / "x_there" / "model.keras")  # the very file the trial saved
    card_here, card_there = (json.loads((tmp_path / x / "model_card.json").read_text()) for x in ("x_here", "x_there"))
    assert card_here["threshold"] == card_there["threshold"] and card_here["trial"] == card_there["trial"]

    predicted_here, said = _predict(runner, storage, nodes["node_c"], images, tmp_path / "here.csv")
    assert [r["probability_malignant"] for r in predicted_here] == [r["probability_malignant"] for r in predicted_there]
    assert "within" in said  # compared with the scores the trial stored


@pytest.mark.slow
def test_an_s3_store_on_a_local_s3_server_serves_export_best_from_an_empty_folder(tmp_path, write_space, monkeypatch):
    boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install 'mammosearch[s3]')")
    server_module = pytest.importorskip("moto.server", reason="moto's S3 server is not installed (pip install 'moto[s3]' flask flask-cors)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                           "AWS_DEFAULT_REGION": "us-east-1"}.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv(ARTIFACTS_ENV, raising=False)
        client = boto3.client("s3")
        client.create_bucket(Bucket="mammo-models")
        runner = CliRunner()
        trained, empty, storage = tmp_path / "node_a", tmp_path / "node_c", f"sqlite:///{tmp_path / 'study.db'}"
        space = write_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 2").replace("keep_top_k: 2", "keep_top_k: 1"))
        result = runner.invoke(app, ["run", "--space", str(space), "--storage", storage, "--results-dir", str(trained), "--artifacts", "s3://mammo-models/runs/tiny"])
        assert result.exit_code == 0, result.output
        kept, own, _ = _stored_files(storage)
        best = optuna.load_study(study_name="tiny", storage=storage).best_trial
        keys = {o["Key"] for o in client.list_objects_v2(Bucket="mammo-models").get("Contents", [])}
        assert keys == {f"runs/tiny/{i}" for i in [*kept[best.number].values(), *own.values()]}  # the other trial's files removed
        model_there = _sha(Path(best.user_attrs["model_path"]))
        shutil.rmtree(trained)
        exported = runner.invoke(app, ["export-best", "--storage", storage, "--results-dir", str(empty), "--out", str(tmp_path / "x")])
        assert exported.exit_code == 0, exported.output
        assert _sha(tmp_path / "x" / "model.keras") == model_there
    finally:
        server.stop()


@pytest.mark.slow
def test_a_head_kept_on_cached_activations_is_fetched_as_the_model_assembled_at_the_end_of_its_run(tmp_path):
    from conftest import TINY_TRANSFER_SPACE
    from mammosearch.config import parse_space
    from mammosearch.search import RunOptions, run_trials, setup_study
    from mammosearch.store import load_study

    store = tmp_path / "store"
    store.mkdir()
    space = parse_space(TINY_TRANSFER_SPACE)
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'a.db'}", results_dir=tmp_path / "node_a", artifacts_url=str(store))
    run_trials(setup_study(space, options), space, options, None)
    study = optuna.load_study(study_name="tiny_transfer", storage=options.storage_url)
    best = study.best_trial
    # Uploaded while the trial ran: its head and predictions; after the run's assembly: the full model, with the study.
    assert set(best.user_attrs["kept_files"]) == {"head.weights.h5", "predictions.json"}
    assert set(trial_files(best.user_attrs, study.user_attrs, best.number)) == {"head.weights.h5", "predictions.json", "model.keras"}
    assembled = _sha(Path(best.user_attrs["model_path"]))
    shutil.rmtree(tmp_path / "node_a")

    record = load_study(options.storage_url, None, tmp_path / "node_c")
    row = next(r for r in record.rows if r.number == best.number)
    assert row.model_path is None and row.remote_model_path is not None and not row.model_missing
    fetched = record.localized(row)
    assert fetched.model_path is not None and _sha(fetched.model_path) == assembled
    assert not (fetched.model_path.parent / "head.weights.h5").exists()  # the assembled model is enough: no trunk is built here
