"""Kept heads assembled on one shared trunk: each full model reproduces its own trial, and a bad head is left for export-best."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import optuna
import pytest

from conftest import TINY_TRANSFER_SPACE
from mammosearch.config import parse_space
from mammosearch.data import load_image_set
from mammosearch.search import RunOptions, run_trials, setup_study
from mammosearch.store import StudyDir, assemble_pending, is_pending


@pytest.mark.slow
def test_kept_heads_on_one_trunk_each_reproduce_their_trial_and_a_broken_head_stays_pending(tmp_path):
    space = parse_space(TINY_TRANSFER_SPACE.replace("n_trials: 2", "n_trials: 3").replace("keep_top_k: 1", "keep_top_k: 3"))
    options = RunOptions(storage_url=f"sqlite:///{tmp_path / 'a.db'}", results_dir=tmp_path / "results", assemble_at_end=False)
    run_trials(setup_study(space, options), space, options, None)  # a run stopped before its assembly
    study = optuna.load_study(study_name="tiny_transfer", storage=options.storage_url)
    kept = sorted(Path(t.user_attrs["model_path"]).parent for t in study.trials)
    assert len(kept) == 3 and all(is_pending(folder) for folder in kept)
    broken = kept[1]
    (broken / "head.weights.h5").write_bytes(b"not an HDF5 file")

    assembled = assemble_pending(study, StudyDir(options.results_dir, study.study_name))

    assert len(assembled) == 2 and is_pending(broken)  # the others went on; export-best retries this one
    val = load_image_set(space.data, space.split).subset("val")
    for folder in (kept[0], kept[2]):
        assert not is_pending(folder)
        model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
        scores = model.predict(val.images.astype("float32"), verbose=0).reshape(-1)
        stored = json.loads((folder / "predictions.json").read_text())["val"]["scores"]
        assert float(np.max(np.abs(scores - np.array(stored)))) < 1e-4
        # The trunk was shared; the model holds its own head only.
        assert [layer.name for layer in model.layers].count("malignancy") == 1
