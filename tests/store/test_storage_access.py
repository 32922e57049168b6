"""Storage URLs: credentials never shown, and commands that only read never create a storage."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.errors import StorageError
from mammosearch.store import load_study, mask_url, open_storage

runner = CliRunner()
SECRET = "Sup3r-Secret"

# Every form a SQLAlchemy / libpq URL can carry a credential in, and what must remain readable.
FORMS = [
    (f"postgresql://alice:{SECRET}@db.lab:5432/optuna", "postgresql://alice:***@db.lab:5432/optuna"),
    (f"postgresql://alice:{SECRET}@with-at@db.lab/optuna", "postgresql://alice:***@db.lab/optuna"),
    (f"postgresql://alice:{SECRET}:col/on@db.lab/optuna", "postgresql://alice:***@db.lab/optuna"),
    (f"postgresql://alice:{SECRET}%40enc%2F@db.lab/optuna", "postgresql://alice:***@db.lab/optuna"),
    (f"postgresql://:{SECRET}@db.lab/optuna", "postgresql://:***@db.lab/optuna"),
    (f"postgresql+psycopg2://alice:{SECRET}@db.lab/optuna", "postgresql+psycopg2://alice:***@db.lab/optuna"),
    (f"postgresql://alice@db.lab/optuna?password={SECRET}&sslmode=require", "postgresql://alice@db.lab/optuna?password=***&sslmode=require"),
    (f"postgresql://alice@db.lab/optuna?sslmode=require&sslpassword={SECRET}", "postgresql://alice@db.lab/optuna?sslmode=require&sslpassword=***"),
    (f"host=db.lab port=5432 user=alice password={SECRET} dbname=optuna", "host=db.lab port=5432 user=alice password=*** dbname=optuna"),
    (f"host=db.lab password='{SECRET} with blanks' dbname=optuna", "host=db.lab password=*** dbname=optuna"),
    (f"mssql+pyodbc:///?odbc_connect=DRIVER%3Dx%3BUID%3Dalice%3BPWD%3D{SECRET}", "mssql+pyodbc:///?odbc_connect=DRIVER%3Dx%3BUID%3Dalice%3BPWD%3D***"),
]


@pytest.mark.parametrize(("url", "shown"), FORMS)
def test_every_credential_form_is_masked(url, shown):
    assert mask_url(url) == shown


def test_urls_without_credentials_are_unchanged():
    for url in ("sqlite:///results/mammosearch.db", "postgresql://alice@db.lab/optuna", "postgresql://db.lab:5432/optuna"):
        assert mask_url(url) == url


def test_a_message_echoing_the_password_or_its_decoded_form_is_masked():
    url = f"postgresql://alice:{SECRET}%40x@db.lab/optuna"
    message = f"could not connect to {url}: password '{SECRET}@x' rejected ({SECRET}%40x)"
    masked = mask_url(message, url)
    assert SECRET not in masked and masked.startswith("could not connect to postgresql://alice:***@db.lab/optuna:")


def test_a_common_password_does_not_mangle_the_url_it_is_masked_in():
    url = "postgresql://postgres:postgres@localhost/optuna"
    assert mask_url(f"cannot reach {url}", url) == "cannot reach postgresql://postgres:***@localhost/optuna"


def test_an_unusable_storage_with_a_password_containing_at_shows_no_part_of_it(tmp_path):
    url = f"mysql+nodriver://alice:{SECRET}@part@db.lab/optuna"
    with pytest.raises(StorageError) as caught:
        open_storage(url)
    message = str(caught.value)
    assert SECRET not in message and "part" not in message and "mysql+nodriver://alice:***@db.lab/optuna" in message


# --- reading never creates ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["report", "export-best"])
def test_a_mistyped_results_dir_is_one_line_and_creates_nothing(tmp_path, command):
    result = runner.invoke(app, [command, "--results-dir", str(tmp_path / "typo")])
    assert result.exit_code != 0
    assert "no storage at sqlite:///" in result.output and "nothing was created" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "typo").exists()


def test_a_mistyped_storage_file_in_an_existing_folder_is_not_created(tmp_path):
    result = runner.invoke(app, ["report", "--storage", f"sqlite:///{tmp_path / 'tpyo.db'}"])
    assert result.exit_code != 0 and "the file does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_database_without_optunas_tables_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as connection:
        connection.execute("create table notes (text)")
    before = db.read_bytes()
    with pytest.raises(StorageError, match="holds no study tables"):
        load_study(f"sqlite:///{db}")
    assert db.read_bytes() == before
    with sqlite3.connect(db) as connection:
        assert [row[0] for row in connection.execute("select name from sqlite_master")] == ["notes"]


def test_an_existing_storage_is_read_as_before(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=url, study_name="kept")
    assert load_study(url).name == "kept"


def test_predict_with_a_mistyped_storage_creates_nothing(tmp_path: Path):
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    result = runner.invoke(app, ["predict", str(image), "--study", "tiny", "--storage", f"sqlite:///{tmp_path / 'nope' / 's.db'}"])
    assert result.exit_code != 0 and "no storage at" in result.output, result.output
    assert not (tmp_path / "nope").exists()


@pytest.mark.skipif(not os.environ.get("MAMMOSEARCH_TEST_POSTGRES"), reason="MAMMOSEARCH_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)")
def test_a_process_holds_one_connection_to_a_database_server():
    # Optuna's RDBStorage left two open and SQLAlchemy's pool keeps up to five: 64 workers met
    # PostgreSQL's default max_connections (100) with "too many clients" (benchmarks/cluster_sim.py).
    import sqlalchemy

    url = os.environ["MAMMOSEARCH_TEST_POSTGRES"]
    monitor = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)

    def connections_of_this_process() -> int:
        with monitor.connect() as connection:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = :name"
            return int(connection.execute(sqlalchemy.text(query), {"name": f"held-{os.getpid()}"}).scalar_one())

    tagged = url + ("&" if "?" in url else "?") + f"application_name=held-{os.getpid()}"
    storage = open_storage(tagged, heartbeat=60)
    study = optuna.create_study(storage=storage, study_name=f"held-{os.getpid()}", load_if_exists=True)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=3)
    assert connections_of_this_process() == 1
    storage.engine.dispose()
