"""One parametrized test over the whole registry (as timm does): a new family is covered for free."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mammosearch.errors import TrialFailed
from mammosearch.models import FAMILIES as MODEL_BUILDERS
from mammosearch.models import build_model
from mammosearch.models.build import backbone_of, countable_layers, freeze_backbone, unfreeze_top_layers
from mammosearch.models.build._backbones import forget_drawn_weights
from mammosearch.spec import AugmentationParams
from mammosearch.trial.fit import Arrays, fit_two_phase
from model_params import params_for

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

CASES = [("cnn", None)] + [(f, h) for f in MODEL_BUILDERS if f != "cnn" for h in ("dense_bn_dropout", "gap_dropout")]



@pytest.fixture(autouse=True)
def _fresh_session():
    keras.backend.clear_session()
    yield


@pytest.mark.parametrize("family, head", CASES)
def test_every_family_and_head_builds_and_trains_one_step(family, head):
    params = params_for(family, head or "gap_dropout")
    model = build_model(params, channels=1)
    assert model.output_shape == (None, 1)
    assert model.input_shape == (None, 32, 32, 1)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (8, 32, 32, 1)).astype("float32")
    y = np.array([0, 1] * 4, dtype="float32")
    before = [w.numpy().copy() for w in model.trainable_weights[-1:]]
    result = fit_two_phase(model, params, Arrays(x, y), Arrays(x, y))
    assert result.epochs_trained == 1 and result.best_epoch == 1
    scores = model.predict(x, verbose=0)
    assert scores.shape == (8, 1) and np.all((scores >= 0) & (scores <= 1))
    assert not np.allclose(before[0], model.trainable_weights[-1].numpy()), "the head did not train"
    if family != "cnn":
        # Feature extraction: nothing in the backbone trains.
        assert backbone_of(model).trainable_weights == []


@pytest.mark.parametrize("family", [f for f in MODEL_BUILDERS if f != "cnn"])
def test_rgb_inputs_are_supported(family):
    model = build_model(params_for(family), channels=3)
    assert model.input_shape == (None, 32, 32, 3) and model.output_shape == (None, 1)


def test_grayscale_preprocessing_matches_keras_caffe_preprocess_input():
    model = build_model(params_for("vgg16"), channels=1)
    stem = keras.Model(model.input, model.get_layer("imagenet_caffe_means").output)
    gray = np.random.default_rng(1).integers(0, 256, (2, 32, 32, 1)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(np.repeat(gray, 3, axis=-1).copy())
    np.testing.assert_allclose(stem.predict(gray, verbose=0), expected, atol=1e-4)


def test_rgb_preprocessing_matches_keras_caffe_preprocess_input():
    model = build_model(params_for("resnet50"), channels=3)
    stem = keras.Model(model.input, model.get_layer("imagenet_caffe_means").output)
    rgb = np.random.default_rng(2).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    expected = keras.applications.resnet50.preprocess_input(rgb.copy())
    np.testing.assert_allclose(stem.predict(rgb, verbose=0), expected, atol=1e-3)


def test_unfreezing_the_top_layers_leaves_the_rest_and_batchnorm_frozen():
    model = build_model(params_for("resnet50"), channels=1)
    freeze_backbone(model)
    layers = countable_layers(backbone_of(model))
    trained = unfreeze_top_layers(model, 12)
    top, rest = layers[-12:], layers[:-12]
    assert all(not layer.trainable for layer in rest)
    assert all(not layer.trainable for layer in top if isinstance(layer, keras.layers.BatchNormalization))
    convs = [layer for layer in top if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.trainable for layer in convs)
    assert trained == len(convs)
    trainable_ids = {id(w) for w in backbone_of(model).trainable_weights}
    assert trainable_ids == {id(w) for layer in convs for w in layer.trainable_weights}


def test_fine_tuning_changes_only_the_unfrozen_backbone_layers():
    params = params_for("vgg16", fine_tune=True, unfrozen_layers=2, fine_tune_learning_rate=1e-3, fine_tune_epochs=1)
    model = build_model(params, channels=1)
    layers = countable_layers(backbone_of(model))
    before = {layer.name: [w.numpy().copy() for w in layer.weights] for layer in layers}
    x = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1)).astype("float32")
    y = np.array([0, 1] * 4, dtype="float32")
    result = fit_two_phase(model, params, Arrays(x, y), Arrays(x, y))
    assert result.epochs_trained == 2 and result.unfrozen_with_weights == 1  # block5_conv3 (+ pool)
    changed = {l.name for l in layers if any(not np.array_equal(a, w.numpy()) for a, w in zip(before[l.name], l.weights))}
    # Best-epoch restore may roll back to epoch 1, in which case nothing changed; else only the top conv.
    assert changed <= {"block5_conv3"}


def test_too_many_unfrozen_layers_fails_the_trial_with_the_count():
    model = build_model(params_for("vgg16"), channels=1)
    with pytest.raises(TrialFailed, match=r"unfrozen_layers=500 but vgg16 has 18 layers; choose 1..18"):
        unfreeze_top_layers(model, 500)


def test_local_weights_file_is_loaded(tmp_path):
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    base.save_weights(path)
    model = build_model(params_for("vgg16", weights=str(path)), channels=1)
    for a, b in zip(backbone_of(model).get_weights(), base.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_saved_models_load_in_safe_mode_and_predict_the_same(tmp_path):
    for family in MODEL_BUILDERS:
        keras.backend.clear_session()
        model = build_model(params_for(family, "dense_bn_dropout"), channels=1)
        x = np.random.default_rng(3).integers(0, 256, (3, 32, 32, 1)).astype("float32")
        path = tmp_path / f"{family}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_validation_metrics_are_the_exact_auc_log_loss_and_accuracy():
    from sklearn.metrics import log_loss, roc_auc_score

    from mammosearch.trial.fit import validation_metrics

    rng = np.random.default_rng(0)
    labels = (rng.random(200) < 0.4).astype("float32")
    scores = np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1)
    scores[:5] = [0.0, 1.0, 0.5, 0.5, 0.5]  # ties and the clipped ends
    metrics = validation_metrics(labels, scores)
    assert metrics["val_auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics["val_loss"] == pytest.approx(log_loss(labels, np.clip(scores, 1e-7, 1 - 1e-7)), rel=1e-9)
    assert metrics["val_accuracy"] == pytest.approx(np.mean((scores > 0.5) == (labels == 1)))
    # One class: AUC undefined. Non-finite scores: all undefined, so the trial fails on val_loss.
    assert np.isnan(validation_metrics(np.ones(10), np.linspace(0, 1, 10))["val_auc"])
    bad = validation_metrics(labels, np.where(np.arange(200) == 3, np.nan, scores))
    assert all(np.isnan(v) for v in bad.values())


def test_predict_scores_match_keras_predict_for_any_batch_split():
    from mammosearch.trial.fit import predict_scores

    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dense(4, activation="relu")(inputs)))
    x = np.random.default_rng(1).random((37, 5)).astype("float32")
    expected = model.predict(x, verbose=0).reshape(-1)
    for batch in (1, 8, 37, 64):
        assert np.allclose(predict_scores(model, x, batch), expected, atol=1e-6)
    assert predict_scores(model, x[:0]).shape == (0,)


def test_fit_returns_the_validation_scores_of_the_restored_best_epoch():
    from mammosearch.trial.fit import predict_scores, validation_metrics

    # Validation labels are the training labels flipped: the better the head learns, the
    # worse its validation AUC, so the best epoch is an early one and not the last.
    params = params_for("vgg16", epochs=5, learning_rate=1e-2, augmentation=AugmentationParams())
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (24, 32, 32, 1)).astype("float32")
    y = np.array([0, 1] * 12, dtype="float32")
    model = build_model(params, channels=1)
    result = fit_two_phase(model, params, Arrays(x, y), Arrays(x, 1 - y))
    assert result.best_epoch < result.epochs_trained == 5
    assert result.best_val_scores is not None
    np.testing.assert_allclose(result.best_val_scores, predict_scores(model, x, params.batch_size), atol=1e-6)
    best = result.history[result.best_epoch - 1]
    assert validation_metrics(1 - y, result.best_val_scores)["val_auc"] == pytest.approx(best["val_auc"], abs=1e-12)


# --- The registry's data, held against the graphs Keras builds (one build per family per module) ---

TRANSFER = [name for name, entry in MODEL_BUILDERS.items() if entry.transfer]


@pytest.fixture(scope="module")
def built():
    """One full model per transfer family (grayscale, 32 px), built once for this module's checks."""
    models: dict[str, keras.Model] = {}

    def get(family: str) -> keras.Model:
        if family not in models:
            models[family] = build_model(params_for(family), channels=1)
        return models[family]

    return get


@pytest.mark.parametrize("family", TRANSFER)
def test_each_entry_states_what_its_built_backbone_is(built, family):
    from mammosearch.models.build._cut import all_cuts, block_cuts

    entry = MODEL_BUILDERS[family]
    backbone = backbone_of(built(family))
    assert backbone.name == family  # the family is named as Keras names its backbone
    assert countable_layers(backbone)[-1].name == entry.output_layer
    assert entry.gradcam_layer in {layer.name for layer in backbone.layers}
    weights = {layer.name: tuple(layer.weights[0].shape) for layer in backbone.layers if layer.weights}
    for layer, shape in entry.weight_markers:
        assert weights[layer] == shape, layer
    blocks, every = block_cuts(backbone), all_cuts(backbone)
    assert blocks and set(blocks) <= set(every)  # every declared block boundary is a real cut
    if entry.fine_tune_by == "layers":
        assert blocks == every  # VGG16 and ResNet50 cut where they cut before the entries said so
    else:
        assert len(blocks) < len(every)


@pytest.mark.parametrize("family", TRANSFER)
def test_each_entry_states_the_smallest_input_keras_builds(family):
    entry = MODEL_BUILDERS[family]
    constructor = getattr(keras.applications, entry.application)
    side = entry.min_input_size - 1
    with pytest.raises(ValueError, match="at least"):
        constructor(include_top=False, weights=None, input_shape=(side, side, 3))


@pytest.mark.parametrize("family", [f for f in TRANSFER if MODEL_BUILDERS[f].preprocessing_mode == "model"])
def test_built_in_preprocessing_families_get_raw_pixels_repeated_to_three_channels(built, family):
    model = built(family)
    before = [layer.name for layer in model.layers[: model.layers.index(backbone_of(model))]]
    assert before == ["image", "aug_flip", "aug_rotation", "aug_zoom", "aug_contrast", "gray_to_rgb"]
    # ... and the backbone normalises them itself with ImageNet statistics (scaled to 0..255 or after /255).
    norms = [layer for layer in backbone_of(model).layers[:4] if isinstance(layer, keras.layers.Normalization)]
    assert len(norms) == 1


@pytest.mark.parametrize("mode", ["torch", "tf"])
def test_torch_and_tf_modes_match_keras_preprocess_input(mode):
    from keras.src.applications.imagenet_utils import preprocess_input

    from mammosearch.models.build._stem import PREPROCESSORS

    inputs = keras.Input((8, 8, 3))
    stem = keras.Model(inputs, PREPROCESSORS[mode](inputs, 3))
    rgb = np.random.default_rng(4).integers(0, 256, (2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(stem.predict(rgb, verbose=0), preprocess_input(rgb.copy(), mode=mode), atol=1e-5)


@pytest.mark.parametrize("family", [f for f in TRANSFER if MODEL_BUILDERS[f].fine_tune_by == "blocks"])
def test_block_families_unfreeze_whole_blocks_the_same_as_the_cached_cut(family):
    from mammosearch.models.build import cut_tensor, plan_cut
    from mammosearch.models.build._cut import INPUT_SUFFIX

    model = build_model(params_for(family), channels=1)
    backbone = backbone_of(model)
    freeze_backbone(model)
    plan = plan_cut(backbone, 12)
    unfreeze_top_layers(model, 12)
    layers = countable_layers(backbone)
    above, below = layers[len(layers) - plan.unfrozen :], layers[: len(layers) - plan.unfrozen]
    assert plan.unfrozen != 12  # rounded to a whole block, not 12 layers
    assert not any(layer.trainable for layer in below)
    assert all(layer.trainable for layer in above if not isinstance(layer, keras.layers.BatchNormalization))
    # The lowest unfrozen layer reads the cut tensor: the cached path's trainer starts exactly there.
    first = above[0]
    assert first.input is cut_tensor(backbone, plan.cut_layer) or plan.cut_layer == first.name + INPUT_SUFFIX


@pytest.mark.parametrize("family", TRANSFER)
def test_weights_none_is_the_same_random_backbone_whatever_the_global_seed(family):
    # What caching its activations across trials and assembling an export from a head rely on;
    # EfficientNetV2's depthwise kernels and ConvNeXt's nested stem were once left to the global RNG.
    drawn = []
    for seed in (1, 2):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
        forget_drawn_weights()  # drawn again, not copied from the first build
        drawn.append(backbone_of(build_model(params_for(family), channels=1)).weights)
    for first, second in zip(*drawn):
        np.testing.assert_array_equal(first.numpy(), second.numpy(), err_msg=first.path)


@pytest.mark.parametrize("family", TRANSFER)
def test_a_random_backbone_copied_from_an_earlier_build_is_the_one_drawn_afresh(family):
    # Later builds in a process copy the first draw in: at another input size too, whatever
    # trained the earlier model's backbone in between.
    forget_drawn_weights()
    first = build_model(params_for(family), channels=1)
    for weight in backbone_of(first).weights:
        weight.assign(weight.numpy() + 1.0)  # fine-tuning moved it; the next build must not see that
    copied = backbone_of(build_model(params_for(family, input_size=48), channels=1)).weights
    forget_drawn_weights()
    fresh = backbone_of(build_model(params_for(family, input_size=48), channels=1)).weights
    assert len(copied) == len(fresh)
    for a, b in zip(copied, fresh):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
