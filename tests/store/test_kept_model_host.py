"""A kept model records the host that saved it; a machine without the file names host and path."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest
from typer.testing import CliRunner

from conftest import TINY_SPACE
from mammosearch.cli import app
from mammosearch.store import load_study

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def test_a_model_kept_on_another_node_is_named_by_host_and_path(tmp_path, write_space):
    runner = CliRunner()
    results = tmp_path / "r"
    space = write_space(TINY_SPACE.replace("n_trials: 3", "n_trials: 2").replace("keep_top_k: 2", "keep_top_k: 1"))
    assert runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(results)]).exit_code == 0
    storage = f"sqlite:///{results / 'mammosearch.db'}"
    best = load_study(storage).ranked()[0]
    assert best.outcome.model_host == socket.gethostname() and best.model_path is not None

    # As if a worker on node-7 had trained it: its file is there, not here.
    best.model_path.unlink()
    with sqlite3.connect(results / "mammosearch.db") as db:
        db.execute("UPDATE trial_user_attributes SET value_json = ? WHERE key = 'model_host'", (json.dumps("node-7"),))
    row = load_study(storage).ranked()[0]
    assert row.model_missing and "on host node-7" in row.missing_model_location

    exported = runner.invoke(app, ["export-best", "--results-dir", str(results), "--out", str(tmp_path / "x")])
    text = " ".join(exported.output.split())
    assert exported.exit_code != 0 and "on host node-7" in text and str(best.outcome.model_path) in text and "Traceback" not in text
    report = " ".join(runner.invoke(app, ["report", "--results-dir", str(results), "--no-html"]).output.split())
    assert "not on this machine" in report and "node-7" in report
