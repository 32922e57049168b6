"""High resolution that fits: one batch's memory estimated before the first trial, the batch capped, or a one-line refusal.

The studies train at a real 1024 x 512 input (``model.input_size: '1024x512'``) from square
synthetic images (fitted keeping their aspect ratio, padded).
"""

from __future__ import annotations

import keras
import optuna
import pytest
from typer.testing import CliRunner

import mammosearch.models as models
from mammosearch.cli import app
from mammosearch.config import load_space, parse_space
from mammosearch.errors import MammosearchError, SpaceError
from mammosearch.models import memory
from mammosearch.store import default_storage
from mammosearch.store.record import from_user_attrs
from mammosearch.trial import batch_caps
from mammosearch.trial.activations import BATCH
from mammosearch.trial.memory_plan import BUDGET_ENV, MB, bound, estimate

runner = CliRunner()

HIGH_RES_CNN = """
study: {name: highres, sampler: random, pruner: none, n_trials: 1, seed: 0}
data: {source: synthetic, n_images: 8, image_size: 724}
model: {families: [cnn], input_size: '1024x512', cnn: {filters: 4, kernel_size: 3, dense_units: 8, dropout: 0.0}}
training: {epochs: 1, batch_size: 8}
"""

HIGH_RES_VGG16 = """
study: {name: highres_vgg, sampler: random, pruner: none, n_trials: 1, seed: 0}
data: {source: synthetic, n_images: 8, image_size: 724}
model: {families: [vgg16], heads: [gap_dropout], input_size: '1024x512'}
training: {epochs: 1, batch_size: 8, fine_tune: false}
"""


def _trial_params(results, name: str) -> list:
    """The params each trial of study ``name`` recorded (none when the study was never created)."""
    try:
        study = optuna.load_study(study_name=name, storage=default_storage(results))
    except KeyError:
        return []
    return [from_user_attrs(t.user_attrs).params for t in study.get_trials(deepcopy=False)]


def _conv_net(height: int, width: int) -> keras.Model:
    inputs = keras.Input((height, width, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(16, 3, padding="same")(x)
    outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, outputs)


def test_the_estimate_takes_a_height_and_a_width_and_grows_with_the_pixels():
    wide, square, small = (memory.footprints(_conv_net(h, w)) for h, w in ((1024, 512), (724, 724), (512, 256)))
    per_image = [memory.training(layers, 0).per_image for layers in (wide, square, small)]
    # 1024 x 512 and 724 x 724 hold (nearly) the same pixels; 512 x 256 a quarter of them.
    assert per_image[0] == pytest.approx(per_image[1], rel=0.01)
    assert per_image[0] == pytest.approx(4 * per_image[2], rel=0.01)
    # The first convolution's output alone, kept and differentiated: a floor on what one image costs.
    assert per_image[0] > memory.FLOAT * 1024 * 512 * 8 * 2
    frozen = memory.inference(wide, 1024 * 512)
    assert frozen.per_image < memory.training(wide, 1024 * 512).per_image
    assert frozen.largest_batch(frozen.at(3)) == 3 and frozen.largest_batch(frozen.at(1) - 1) == 0


def _count_builds(monkeypatch) -> list[str]:
    """The families ``build_model`` builds from now on (the real builder still runs; patched on the face, where the planner looks it up)."""
    built: list[str] = []
    real = models.build_model

    def counting(params, channels):
        built.append(params.family)
        return real(params, channels)

    monkeypatch.setattr(models, "build_model", counting)
    return built


def test_the_demo_space_is_planned_without_building_a_model(monkeypatch):
    built = _count_builds(monkeypatch)
    monkeypatch.setenv(BUDGET_ENV, "2048")  # far less than a CPU or GPU budget here: the bound still fits
    caps = batch_caps(load_space(None), 1)  # the built-in demo (search_spaces/demo.yaml)
    assert built == []
    assert caps.training == {"cnn@32": 16, "vgg16@32": 16, "resnet50@32": 16}
    assert caps.frozen == {"cnn@32": BATCH, "vgg16@32": BATCH, "resnet50@32": BATCH}


def test_where_the_bound_does_not_fit_the_model_is_built_and_the_exact_estimate_decides(monkeypatch):
    space = parse_space(HIGH_RES_CNN)
    train, _ = estimate(space, "cnn", "1024x512", 1)
    upper, _ = bound(space, "cnn", "1024x512", 1)
    assert upper.at(8) > train.at(8)
    built = _count_builds(monkeypatch)
    # Room for the 8 images asked by the estimate, not by the bound: built once, nothing capped.
    monkeypatch.setenv(BUDGET_ENV, str((train.at(8) + upper.at(8)) / 2 / MB))
    assert batch_caps(space, 1).training == {"cnn@1024x512": 8}
    assert built == ["cnn"]


def test_a_configuration_that_cannot_fit_one_image_is_refused_naming_the_settings(monkeypatch):
    space = parse_space(HIGH_RES_VGG16)
    monkeypatch.setenv(BUDGET_ENV, "64")
    built = _count_builds(monkeypatch)
    with pytest.raises(SpaceError) as refused:
        batch_caps(space, 1)
    assert built == ["vgg16"]  # the bound does not fit: built and estimated before refusing
    line = str(refused.value)
    assert "\n" not in line and "model.input_size 1024x512" in line and BUDGET_ENV in line and "vgg16" in line


def test_a_malformed_budget_is_one_line(monkeypatch):
    monkeypatch.setenv(BUDGET_ENV, "lots")
    with pytest.raises(MammosearchError, match=BUDGET_ENV):
        batch_caps(parse_space(HIGH_RES_CNN), 1)


def test_the_run_refuses_in_one_line_before_any_trial(write_space, tmp_path, monkeypatch):
    monkeypatch.setenv(BUDGET_ENV, "64")
    results = tmp_path / "results"
    result = runner.invoke(app, ["run", "--space", str(write_space(HIGH_RES_VGG16)), "--results-dir", str(results)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "model.input_size" in result.output
    assert _trial_params(results, "highres_vgg") == []


@pytest.mark.slow
def test_a_batch_that_does_not_fit_is_capped_and_the_trial_records_the_batch_it_trained_with(write_space, tmp_path, monkeypatch):
    space = parse_space(HIGH_RES_CNN)
    train, frozen = estimate(space, "cnn", "1024x512", 1)
    assert frozen is None  # the CNN trains end to end: no frozen pass
    # Room for 3 images' training step, not for the 8 asked for.
    monkeypatch.setenv(BUDGET_ENV, str((train.at(3) + train.per_image // 2) / MB))
    assert batch_caps(space, 1).training == {"cnn@1024x512": 3}
    results = tmp_path / "results"
    result = runner.invoke(app, ["run", "--space", str(write_space(HIGH_RES_CNN)), "--results-dir", str(results)])
    assert result.exit_code == 0, result.output
    assert [(p.batch_size, p.input_size) for p in _trial_params(results, "highres")] == [(3, "1024x512")]


@pytest.mark.slow
def test_a_frozen_vgg16_pass_at_high_resolution_runs_in_batches_within_the_budget(write_space, tmp_path, monkeypatch):
    space = parse_space(HIGH_RES_VGG16)
    _, frozen = estimate(space, "vgg16", "1024x512", 1)
    monkeypatch.setenv(BUDGET_ENV, str(frozen.at(2) / MB))
    caps = batch_caps(space, 1)
    assert caps.frozen == {"vgg16@1024x512": 2}  # 2 images per pass instead of 64
    result = runner.invoke(app, ["run", "--space", str(write_space(HIGH_RES_VGG16)), "--results-dir", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    assert "1 new trial" in result.output or "finished" in result.output.lower(), result.output
