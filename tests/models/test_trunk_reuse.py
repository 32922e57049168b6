"""A trunk a trial built (and fine-tuned) carries the kept heads at the end of a run as a new trunk would."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace

import keras
import numpy as np
import pytest

from mammosearch.models import build_model
from mammosearch.models.build import backbone_of, with_head
from mammosearch.models.build._backbones import forget_built_trunks
from mammosearch.models.registry import build_trunk
from mammosearch.spec import AugmentationParams
from mammosearch.trial.fit import Arrays, fit_two_phase
from model_params import params_for

# Builds and trains real backbones: left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

PLAIN = AugmentationParams()


def _images() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (8, 32, 32, 1)).astype("float32")


def _config(path) -> dict:
    """The saved model's config, less the ids Keras numbers shared objects by (``id()`` of a Python object: new each save)."""
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"), object_hook=lambda d: {k: v for k, v in d.items() if k != "shared_object_id"})


def test_a_trunk_fine_tuned_by_a_trial_is_reset_and_its_model_equals_one_on_a_new_trunk(tmp_path):
    keras.backend.clear_session()
    forget_built_trunks()
    params = params_for("vgg16", augmentation=PLAIN, fine_tune=True, fine_tune_epochs=1, unfrozen_layers=2, fine_tune_learning_rate=1e-3)
    trial_model = build_model(params, 1)  # a trial's model: the trunk is kept for reuse
    x, y = _images(), np.array([0, 1] * 4, dtype="float32")
    before = [w.copy() for w in backbone_of(trial_model).get_weights()]
    fit_two_phase(trial_model, params, Arrays(x, y), Arrays(x, y))
    after = backbone_of(trial_model).get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "fine-tuning did not change the backbone"
    assert backbone_of(trial_model).trainable_weights, "fine-tuning left no layer trainable"

    keras.backend.clear_session(free_memory=True)  # as assembling does between groups
    kept_head = replace(params, seed=7)
    reused = with_head(*build_trunk(kept_head, 1, reuse=True), kept_head)
    assert backbone_of(reused) is backbone_of(trial_model)  # not built again
    assert backbone_of(reused).trainable_weights == []  # frozen, as built
    forget_built_trunks()
    fresh = with_head(*build_trunk(kept_head, 1, reuse=True), kept_head)  # nothing kept: built
    assert backbone_of(fresh) is not backbone_of(reused)
    for a, b in zip(backbone_of(reused).get_weights(), backbone_of(fresh).get_weights()):
        np.testing.assert_array_equal(a, b)
    fresh.set_weights(reused.get_weights())  # the same head on both
    np.testing.assert_array_equal(reused.predict(x, verbose=0), fresh.predict(x, verbose=0))
    reused.save(tmp_path / "reused.keras")
    fresh.save(tmp_path / "fresh.keras")
    assert _config(tmp_path / "reused.keras") == _config(tmp_path / "fresh.keras")  # names, flags: the same model file


def test_only_a_caller_that_asks_reuses_and_never_a_trunk_with_random_layers_or_a_weights_file(tmp_path):
    keras.backend.clear_session()
    forget_built_trunks()
    plain = params_for("vgg16", augmentation=PLAIN)
    first = build_trunk(plain, 1)
    second = build_trunk(plain, 1)
    assert second[1] is not first[1]  # a trial's build: always a trunk of its own
    assert build_trunk(plain, 1, reuse=True)[1] is second[1]  # the latest build is the one kept
    augmented = params_for("vgg16", augmentation=AugmentationParams(flip=True))
    trunk = build_trunk(augmented, 1)
    assert build_trunk(augmented, 1, reuse=True)[1] is not trunk[1]  # its random layers hold state
    model = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    model.save_weights(tmp_path / "vgg16.weights.h5")
    from_file = replace(plain, weights=str(tmp_path / "vgg16.weights.h5"))
    trunk = build_trunk(from_file, 1)
    assert build_trunk(from_file, 1, reuse=True)[1] is not trunk[1]
