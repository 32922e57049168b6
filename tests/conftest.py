"""Shared fixtures: small real search spaces, real SQLite storages, real Keras models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MINI_MIAS = SHARED / "datasets" / "mini-mias"


def skip_if_its_weights_are_absent(space_file: Path) -> None:
    """Skip with the reason where a shipped space names ../shared's ImageNet weights and that folder is absent."""
    if "shared/weights" in space_file.read_text() and not (SHARED / "weights").is_dir():
        pytest.skip(f"{space_file.name} names the shared ImageNet weights, and ../shared/weights is absent")


# A space that trains in seconds: the CNN only, 32 px phantoms, 2 epochs.
TINY_SPACE = """
study: {name: tiny, sampler: random, pruner: none, n_trials: 3, seed: 1, keep_top_k: 2}
data:
  source: synthetic
  n_images: 96
  image_size: 32
  difficulty: 0.2
  split: {validation: 0.25, test: 0.25, seed: 0}
model:
  families: [cnn]
  input_size: 32
  cnn: {filters: [4, 8], kernel_size: 3, dense_units: 16, dropout: 0.2}
training:
  learning_rate: {low: 1.0e-3, high: 3.0e-3, log: true}
  batch_size: 16
  epochs: 2
"""

# Feature extraction on a small random VGG16: its heads train on cached activations.
TINY_TRANSFER_SPACE = """
study: {name: tiny_transfer, sampler: random, pruner: none, n_trials: 2, seed: 3, keep_top_k: 1}
data: {source: synthetic, n_images: 64, image_size: 32, split: {validation: 0.25}}
model: {families: [vgg16], heads: [dense_bn_dropout, gap_dropout], input_size: 32, head: {dense_units: 8}}
training: {epochs: 2, batch_size: 16, fine_tune: false}
"""


@pytest.fixture
def write_space(tmp_path: Path):
    def write(text: str, name: str = "space.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One real study run once per session: SQLite storage, 3 trained CNN trials."""
    from mammosearch.config import parse_space
    from mammosearch.search import RunOptions, run_study

    root = tmp_path_factory.mktemp("tiny_study")
    space_file = root / "tiny.yaml"
    space_file.write_text(TINY_SPACE, encoding="utf-8")
    storage = f"sqlite:///{root / 'study.db'}"
    results = root / "results"
    summary = run_study(parse_space(TINY_SPACE, str(space_file), root), RunOptions(storage_url=storage, results_dir=results))
    return {"root": root, "space_file": space_file, "storage": storage, "results": results, "summary": summary}


def unpack(loaded):
    """A loader's result as the tuple the older loader tests read: images, labels, patient ids, notes."""
    return loaded.images, loaded.labels, loaded.patient_ids, loaded.notes


@pytest.fixture
def server(tmp_path: Path):
    """Serve tmp_path/www on an ephemeral loopback port (no other network is reached)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None  # type: ignore[assignment]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def trial_progress(db: Path) -> tuple[int, int]:
    """(complete trials, most intermediate values of a running trial) in a run's SQLite study.

    Read-only through sqlite3: a test that polled with ``optuna.load_study`` while the run
    was still creating a new database could race it on the schema and fail the run.
    """
    import sqlite3

    if not db.is_file():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            complete = connection.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
            steps = connection.execute(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(v.trial_intermediate_value_id) AS n FROM trials t "
                "JOIN trial_intermediate_values v ON v.trial_id = t.trial_id WHERE t.state = 'RUNNING' GROUP BY t.trial_id)"
            ).fetchone()[0]
    except sqlite3.Error:
        return 0, 0  # not created yet, or locked for a moment
    return int(complete), int(steps)


def decode_refusal(path: Path) -> str:
    """The one line the decode path refuses ``path`` with (asserted to name the file and to be one line)."""
    from mammosearch.data.decode import decode_file
    from mammosearch.errors import DataError

    with pytest.raises(DataError) as caught:
        decode_file(path, "grayscale")
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    return message


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses ``tiny_study`` needs the study it trains: it is ``slow`` like the tests that train."""
    for item in items:
        if "tiny_study" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
