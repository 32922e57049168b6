"""Cached activations: same predictions as end-to-end training, and a key that notices changes."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from mammosearch.models import build_model
from mammosearch.models.build import backbone_of, countable_layers, feature_model, output_cut, plan_cut, single_input_cuts, trainer_model
from mammosearch.spec import AugmentationParams
from mammosearch.trial import ActivationCache, ActivationKey
from mammosearch.trial.activations import images_fingerprint
from mammosearch.trial.fit import Arrays, fit_two_phase
from model_params import params_for

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

NO_AUG = AugmentationParams()


def _data(n: int = 24, size: int = 32):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, size, size, 1)).astype("float32")
    y = np.array([0, 1] * (n // 2), dtype="float32")
    x[y == 1, 8:24, 8:24] = np.clip(x[y == 1, 8:24, 8:24] + 60, 0, 255)  # something to learn
    return x, y


def _train_both_ways(params, x, y):
    """The same seed, data and params: once end to end, once on cached activations."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    full = build_model(params, 1)
    fit_two_phase(full, params, Arrays(x[:16], y[:16]), Arrays(x[16:], y[16:]))
    end_to_end = full.predict(x[16:], verbose=0)

    keras.backend.clear_session()
    keras.utils.set_random_seed(7)
    model = build_model(params, 1)
    if params.fine_tune:
        plan = plan_cut(backbone_of(model), params.unfrozen_layers)
        cut, unfrozen = plan.cut_layer, plan.unfrozen
    else:
        cut, unfrozen = output_cut(model), None
    features = feature_model(model, cut).predict(x, verbose=0)
    trainer = trainer_model(model, cut, features.shape[1:])
    fit_two_phase(trainer, params, Arrays(features[:16], y[:16]), Arrays(features[16:], y[16:]), backbone_owner=model, unfrozen_layers=unfrozen)
    return end_to_end, model.predict(x[16:], verbose=0), trainer.predict(features[16:], verbose=0)


@pytest.mark.parametrize("family, head", [("vgg16", "dense_bn_dropout"), ("resnet50", "gap_dropout")])
def test_a_head_trained_on_cached_activations_predicts_like_end_to_end(family, head):
    params = dataclasses.replace(params_for(family, head), augmentation=NO_AUG, epochs=2, batch_size=8)
    end_to_end, full_after_cached, trainer = _train_both_ways(params, *_data())
    np.testing.assert_allclose(full_after_cached, end_to_end, atol=2e-4)
    np.testing.assert_allclose(trainer, full_after_cached, atol=2e-4)  # the trainer shares the full model's weights


# EfficientNetV2-B0: 8 layers round to its top block (3); ConvNeXt-Tiny: to its last block (8
# layers, cut where ``inputs + x`` of the block below feeds it: "<layer>:input").
@pytest.mark.parametrize("family, unfrozen", [("vgg16", 3), ("efficientnetv2-b0", 8), ("convnext_tiny", 8)])
def test_fine_tuning_on_activations_below_the_cut_matches_end_to_end(family, unfrozen):
    params = dataclasses.replace(
        params_for(family, "gap_dropout"), augmentation=NO_AUG, epochs=1, batch_size=8,
        fine_tune=True, unfrozen_layers=unfrozen, fine_tune_learning_rate=1e-4, fine_tune_epochs=1,
    )
    end_to_end, full_after_cached, _ = _train_both_ways(params, *_data())
    np.testing.assert_allclose(full_after_cached, end_to_end, atol=5e-4)


def test_resnet_cuts_fall_on_block_boundaries_and_report_the_rounding():
    keras.backend.clear_session()
    model = build_model(params_for("resnet50"), 1)
    backbone = backbone_of(model)
    layers = countable_layers(backbone)
    names = [layers[i].name for i in single_input_cuts(backbone)]
    assert "conv5_block2_out" in names and "conv4_block6_out" in names
    assert not any("_conv" in n and "block" in n for n in names)  # never inside a residual block
    plan = plan_cut(backbone, 12)
    assert plan.cut_layer in ("conv5_block2_out", "conv5_block2_add") and plan.requested == 12 and plan.unfrozen in (10, 11)
    vgg = backbone_of(build_model(params_for("vgg16"), 1))
    assert plan_cut(vgg, 4).unfrozen == 4  # a chain can be cut anywhere


def test_the_key_changes_with_images_and_preprocessing(tmp_path):
    x, _ = _data()
    base = ActivationKey("vgg16", "none@1234", 32, 1, "block5_pool", images_fingerprint(x))
    changed = x.copy()
    changed[0, 0, 0, 0] += 1
    assert ActivationKey("vgg16", "none@1234", 32, 1, "block5_pool", images_fingerprint(changed)).digest() != base.digest()
    for field, value in (("input_size", 48), ("cut_layer", "block5_conv3"), ("weights", "imagenet"), ("channels", 3)):
        assert dataclasses.replace(base, **{field: value}).digest() != base.digest()

    calls = []
    cache = ActivationCache(tmp_path)
    compute = lambda path: calls.append(1) or np.ones((2, 3), dtype="float32")
    cache.get(base, compute)
    cache.get(base, compute)
    ActivationCache(tmp_path).get(base, compute)  # a resumed run: served from disk
    assert len(calls) == 1


# A random EfficientNetV2-B0's 32 px features are tiny (std 1e-3): a BatchNorm head would blow
# up float rounding between the two paths, so it gets the pooling head here.
@pytest.mark.parametrize("family, head", [
    ("vgg16", "gap_dropout"), ("resnet50", "dense_bn_dropout"), ("efficientnetv2-b0", "gap_dropout"), ("convnext_tiny", "dense_bn_dropout"),
])
def test_the_head_alone_on_cached_activations_trains_like_the_full_model(family, head):
    """What the objective does for feature extraction: no backbone built, same predictions."""
    from mammosearch.models import family as family_entry
    from mammosearch.models.build import copy_head_weights, head_only_model

    params = dataclasses.replace(params_for(family, head), augmentation=NO_AUG, epochs=2, batch_size=8, seed=11)
    x, y = _data()
    keras.backend.clear_session()
    full = build_model(params, 1)
    fit_two_phase(full, params, Arrays(x[:16], y[:16]), Arrays(x[16:], y[16:]))
    end_to_end = full.predict(x[16:], verbose=0)

    keras.backend.clear_session()
    features = feature_model(build_model(params, 1), family_entry(family).output_layer).predict(x, verbose=0)
    keras.utils.set_random_seed(999)  # whatever the global RNG did meanwhile
    head_model = head_only_model(params, features.shape[1:])
    fit_two_phase(head_model, params, Arrays(features[:16], y[:16]), Arrays(features[16:], y[16:]))
    np.testing.assert_allclose(head_model.predict(features[16:], verbose=0), end_to_end, atol=2e-4)
    exported = build_model(params, 1)
    copy_head_weights(head_model, exported)
    np.testing.assert_allclose(exported.predict(x[16:], verbose=0), end_to_end, atol=2e-4)


def test_activations_computed_a_chunk_at_a_time_equal_one_pass_over_the_whole_set(monkeypatch):
    import keras

    from mammosearch.trial import activations

    monkeypatch.setattr(activations, "BATCH", 4)
    monkeypatch.setattr(activations, "CHUNK_BATCHES", 2)  # chunks of 8 images: several, the last one short
    inputs = keras.Input((12, 12, 1))
    extractor = keras.Model(inputs, keras.layers.Conv2D(3, 3, name="conv")(keras.layers.Rescaling(1 / 255)(inputs)))
    images = np.random.default_rng(0).integers(0, 256, (21, 12, 12, 1), dtype=np.uint8)
    whole = np.asarray(extractor.predict(images.astype("float32"), batch_size=4, verbose=0))
    chunked = activations.extract(extractor, images)
    assert chunked.dtype == np.float32 and chunked.shape == whole.shape == (21, 10, 10, 3)
    np.testing.assert_array_equal(chunked, whole)
