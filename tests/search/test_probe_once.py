"""Workers started together fit the study's linear probe once; the others read it.

Real processes, a real journal file, the real ImageNet VGG16 file on 32 px phantoms. Every
write of the probe to the study is one line of the journal, so counting those lines counts
the fits that got recorded: exactly one, however many workers started at the same moment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from conftest import SHARED
from mammosearch.store.storage import open_storage

EXE = str(Path(sys.executable).parent / "mammosearch")
VGG16_FILE = SHARED / "weights" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
SPACE = f"""
study: {{name: probe, sampler: random, pruner: none, n_trials: 3, seed: 3, keep_top_k: 1}}
data: {{source: synthetic, n_images: 48, image_size: 32, split: {{validation: 0.25}}}}
model: {{families: [vgg16], heads: [gap_dropout], input_size: 32, weights: {{vgg16: {VGG16_FILE}}}}}
training: {{epochs: 1, batch_size: 16, fine_tune: false}}
"""


def _probe_writes(journal: Path) -> int:
    return sum(1 for line in journal.read_text().splitlines() if "linear_probes" in json.loads(line).get("user_attr", {}))


@pytest.mark.slow
@pytest.mark.skipif(not VGG16_FILE.is_file(), reason=f"the shared ImageNet VGG16 weights are not at {VGG16_FILE} (../shared/weights)")
def test_three_workers_started_together_fit_the_linear_probe_once(tmp_path):
    journal = tmp_path / "shared" / "studies.log"
    url = f"journal:///{journal}"
    space = tmp_path / "probe.yaml"
    space.write_text(SPACE)
    setup = subprocess.run([EXE, "run", "--space", str(space), "--storage", url, "--setup-only", "--trials-per-process", "0"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert _probe_writes(journal) == 0  # the set-up leaves the probe to the first training process
    env = {**os.environ, "MAMMOSEARCH_STORAGE": url, "MAMMOSEARCH_THREADS": "1"}
    workers = [subprocess.Popen([EXE, "worker", "--study", "probe", "--n-trials", "1"], cwd=tmp_path, env={**env, "MAMMOSEARCH_WORKER": str(i)},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(3)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0], [out[-2000:] for out in outputs]
    assert _probe_writes(journal) == 1
    study = optuna.load_study(study_name="probe", storage=open_storage(url, create=False))
    [probe] = study.user_attrs["linear_probes"]
    assert probe["family"] == "vgg16" and 0.0 <= probe["auc"] <= 1.0
