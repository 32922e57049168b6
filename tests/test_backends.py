"""The demo's path (run, report, export-best, predict) on the other Keras backends, in a fresh process each.

Keras fixes its backend at import, so each backend runs in its own interpreter with
``KERAS_BACKEND`` set; a backend that is not installed (the ``[jax]`` / ``[torch]`` extra)
is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from mammosearch.apply import SCORE_TOLERANCE

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

# All three families, tiny: the CNN trains in full, VGG16 heads on cached activations.
SMOKE_SPACE = """
study: {name: smoke, sampler: random, pruner: none, n_trials: 3, seed: 0, keep_top_k: 2}
data: {source: synthetic, n_images: 48, image_size: 32, split: {validation: 0.25}}
model:
  families: [cnn, vgg16, resnet50]
  heads: [gap_dropout]
  input_size: 32
  cnn: {filters: 4, kernel_size: 3, dense_units: 8, dropout: 0.2}
  head: {dropout: 0.2}
training: {epochs: 1, batch_size: 16, fine_tune: false}
"""


def _cli(backend: str, *args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KERAS_BACKEND": backend}
    return subprocess.run([sys.executable, "-m", "mammosearch.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_run_report_export_and_predict_on_another_backend(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[{backend}]' to run this smoke test)")
    space = tmp_path / "smoke.yaml"
    space.write_text(SMOKE_SPACE, encoding="utf-8")
    run = _cli(backend, "run", "--space", str(space), cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"on {backend}" in json.dumps(run.stdout) or "3 finished" in run.stdout
    report = _cli(backend, "report", "--no-html", cwd=tmp_path)
    assert report.returncode == 0 and "smoke" in report.stdout, report.stdout + report.stderr
    export = _cli(backend, "export-best", "--out", "exported", cwd=tmp_path)
    assert export.returncode == 0, export.stdout + export.stderr
    images = _cli(backend, "data", "export", "--space", str(space), "--out", "images", cwd=tmp_path)
    assert images.returncode == 0, images.stderr
    predict = _cli(backend, "predict", "exported", "images/val", "--out", "p.csv", cwd=tmp_path)
    assert predict.returncode == 0, predict.stdout + predict.stderr
    assert f"12 image(s) the study scored: 12 within {SCORE_TOLERANCE:g} of the stored score" in " ".join(predict.stdout.split())
    # Grad-CAM's gradients go through this backend's own autodiff (apply/gradients.py).
    explain = _cli(backend, "explain", "exported", "images/val", "--out", "explained", cwd=tmp_path)
    assert explain.returncode == 0, explain.stdout + explain.stderr
    assert len(list((tmp_path / "explained" / "overlays").glob("*.png"))) == 12 and (tmp_path / "explained" / "grid.png").is_file()


def test_a_missing_backend_is_one_line_with_the_extra_to_install(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "torch" if importlib.util.find_spec("torch") is None else "jax"}
    backend = env["KERAS_BACKEND"]
    if importlib.util.find_spec(backend) is not None:
        pytest.skip("both jax and torch are installed: no missing backend to try")
    done = subprocess.run([sys.executable, "-m", "mammosearch.cli", "export-best", "--results-dir", str(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 7
    assert f"pip install 'mammosearch[{backend}]'" in done.stderr and "Traceback" not in done.stderr
