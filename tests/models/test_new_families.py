"""EfficientNetV2-B0 and ConvNeXt-Tiny through a real search, export-best and a safe-mode reload.

Each family is one registry entry; this runs what a user runs, with random weights (`weights:
none`: no ImageNet file for them exists on the test machines), tiny images and two trials.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.config import parse_space
from mammosearch.data import load_image_set
from mammosearch.search import RunOptions, run_study

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()

SPACE = """
study: {{name: {family}, sampler: random, pruner: none, n_trials: 2, seed: 3, keep_top_k: 1}}
data: {{source: synthetic, n_images: 48, image_size: 32, split: {{validation: 0.25}}}}
model: {{families: [{family}], heads: [dense_bn_dropout, gap_dropout], input_size: 32, head: {{dense_units: 8}}}}
training: {{epochs: 1, batch_size: 16, fine_tune: {fine_tune}, unfrozen_layers: 8, fine_tune_epochs: 1}}
"""


# EfficientNetV2-B0 by feature extraction (heads on cached activations, the export assembled
# from the head's weights); ConvNeXt-Tiny fine-tuned by blocks (8 layers = its last block, cut
# where the block below's `inputs + x` feeds it).
@pytest.mark.parametrize("family, fine_tune", [("efficientnetv2-b0", "false"), ("convnext_tiny", "true")])
def test_a_new_family_searches_exports_and_reloads_in_safe_mode(tmp_path, family, fine_tune):
    import optuna

    text = SPACE.format(family=family, fine_tune=fine_tune)
    space_file = tmp_path / "space.yaml"
    space_file.write_text(text, encoding="utf-8")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = parse_space(text, str(space_file), tmp_path)
    summary = run_study(space, RunOptions(storage_url=storage, results_dir=tmp_path / "results"))
    trials = optuna.load_study(study_name=family, storage=storage).get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"], [t.user_attrs.get("error") for t in trials]
    if fine_tune == "true":
        assert {t.user_attrs.get("unfrozen_actual") for t in trials} == {8}
        assert {t.user_attrs.get("activation_cut") for t in trials} == {"convnext_tiny_stage_3_block_2_depthwise_conv:input"}

    out = tmp_path / "exported"
    result = runner.invoke(app, ["export-best", "--storage", storage, "--study", family, "--out", str(out)])
    assert result.exit_code == 0, result.output
    card = json.loads((out / "model_card.json").read_text())
    assert card["trial"] == summary.best_number
    keras.backend.clear_session()
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    val = load_image_set(space.data, space.split).subset("val")
    scores = model.predict(val.images.astype("float32"), verbose=0).reshape(-1)
    stored = json.loads((out / "predictions.json").read_text())["val"]
    np.testing.assert_allclose(scores, stored["scores"], atol=1e-5)


@pytest.mark.parametrize("family", ["efficientnetv2-b0", "convnext_tiny"])
def test_grad_cam_finds_the_new_familys_default_layer_and_explains(family):
    from mammosearch.apply.explain import cam_parts, gradcam
    from mammosearch.models import FAMILIES, build_model
    from model_params import params_for

    keras.backend.clear_session()
    model = build_model(params_for(family, input_size=64), channels=1)
    parts = cam_parts(model)
    assert [p.layer for p in parts] == [FAMILIES[family].gradcam_layer]
    pixels = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 1)).astype("float32")
    maps = gradcam(parts, pixels)
    assert maps.shape[0] == 2 and np.all(np.isfinite(maps))
