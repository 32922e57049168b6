"""Cached augmented views train the same head as the full network on the same augmented images."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from mammosearch.data import SyntheticSpec, generate_synthetic
from mammosearch.models import build_model
from mammosearch.models.build import feature_model, head_only_model
from mammosearch.spec import AugmentationParams, HeadParams, TrialParams
from mammosearch.trial.fit import Arrays, ViewBatches, cached_views, fit_two_phase, predict_scores, view_activations
from mammosearch.trial.fit._views import augment

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

AUG = AugmentationParams(flip=True, rotation=0.05, zoom=0.1)


def test_a_head_on_cached_views_equals_the_full_network_on_the_same_augmented_images_in_the_same_order(tmp_path):
    images, labels, _ = generate_synthetic(SyntheticSpec(n_images=24, image_size=32, seed=5))
    train, val = np.arange(16), np.arange(16, 24)
    params = TrialParams(
        family="vgg16", input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=8, epochs=3,
        augmentation=AUG, head=HeadParams("gap_dropout", 0.2), class_weights=True, seed=3,
    )
    pixels = augment(images, AUG, views=3, seed=11)
    assert pixels.shape == (3, 24, 32, 32, 1) and not np.allclose(pixels[0], pixels[1])

    keras.backend.clear_session()
    extractor = feature_model(build_model(params, 1), "block5_pool")
    plain = np.asarray(extractor.predict(images.astype("float32"), verbose=0))
    views = cached_views(tmp_path / "v.npy", lambda filling: view_activations(extractor, images, AUG, 3, 11, filling))
    np.testing.assert_array_equal(views, np.stack([np.asarray(extractor.predict(v, verbose=0)) for v in pixels]).astype(np.float16))
    assert isinstance(views, np.memmap) and views.dtype == np.float16  # on disk, memory-mapped
    weights = {0: 1.0, 1: 1.0}
    head = head_only_model(params, tuple(plain.shape[1:]))
    fit_two_phase(head, params, ViewBatches(views, train, labels[train], 8, params.seed, weights), Arrays.of(plain[val], labels[val]))
    cached = predict_scores(head, plain[val])

    keras.backend.clear_session()
    # The same network without augmentation layers, fed the very same augmented pixels in the same order.
    full = build_model(dataclasses.replace(params, augmentation=AugmentationParams()), 1)
    fit_two_phase(full, params, ViewBatches(pixels, train, labels[train], 8, params.seed, weights), Arrays.of(images[val], labels[val]))
    end_to_end = predict_scores(full, images[val].astype("float32"))
    # float16 storage of the activations is the only difference.
    assert np.allclose(cached, end_to_end, atol=2e-3), np.abs(cached - end_to_end).max()


def test_each_epoch_draws_one_view_per_image_in_a_new_order():
    views = np.arange(2 * 10).reshape(2, 10, 1).astype("float32")  # view v of image i holds 10 v + i
    batches = ViewBatches(views, np.arange(10), np.zeros(10), batch_size=4, seed=0, class_weights=None)
    first = np.concatenate([batches[i][0].ravel() for i in range(len(batches))])
    batches.on_epoch_end()
    second = np.concatenate([batches[i][0].ravel() for i in range(len(batches))])
    assert sorted(first % 10) == sorted(second % 10) == list(range(10))  # every image once per epoch
    assert not np.array_equal(first, second)
    assert set(first // 10) <= {0, 1}


def test_a_search_with_augmentation_trains_on_cached_views_and_exports_a_model_that_reproduces_it(tmp_path):
    import json

    import optuna
    from typer.testing import CliRunner

    from mammosearch.cli import app
    from mammosearch.config import parse_space
    from mammosearch.data import load_image_set

    text = (
        "study: {name: views, sampler: random, pruner: none, n_trials: 2, seed: 1, keep_top_k: 1}\n"
        "data: {source: synthetic, n_images: 48, image_size: 32, split: {validation: 0.25}}\n"
        "model: {families: [vgg16], heads: [gap_dropout], input_size: 32}\n"
        "training: {epochs: 2, batch_size: 16, fine_tune: false, augmentation: {flip: true, zoom: 0.1}, augmentation_views: 3}\n"
    )
    space_file = tmp_path / "views.yaml"
    space_file.write_text(text)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--space", str(space_file), "--storage", storage, "--results-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    trials = optuna.load_study(study_name="views", storage=storage).trials
    assert {t.user_attrs["training_path"] for t in trials} == {"cached augmented views"}
    assert list((tmp_path / "r" / "cache" / "activations").glob("*-views.npy"))
    exported = runner.invoke(app, ["export-best", "--storage", storage, "--study", "views", "--out", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    model = keras.saving.load_model(tmp_path / "out" / "model.keras", safe_mode=True)
    stored = json.loads((tmp_path / "out" / "predictions.json").read_text())["val"]
    space = parse_space(text)
    data = load_image_set(space.data, space.split)
    predicted = model.predict(data.images[stored["indices"]].astype("float32"), verbose=0).reshape(-1)
    assert np.allclose(predicted, stored["scores"], atol=1e-5)
