"""One frozen pass per image and view: every cut's activations come from the deepest cut's, and equal the direct ones."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mammosearch.models import build_model
from mammosearch.models.build import backbone_of, deepest_cut, feature_model, lies_below, plan_cut
from mammosearch.spec import AugmentationParams
from mammosearch.trial import ActivationCache, ActivationKey, extract
from mammosearch.trial._deepest_cut import FrozenPasses, activations_at, views_at
from mammosearch.trial.activations import images_fingerprint
from mammosearch.trial.fit import view_activations
from model_params import params_for

# Builds and runs real backbones: left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def _images(n: int = 6, size: int = 32) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (n, size, size, 1)).astype("uint8")


def _key(family: str, cut: str, images: np.ndarray) -> ActivationKey:
    return ActivationKey(family, "none@0", 32, 1, cut, images_fingerprint(images))


@pytest.mark.parametrize("family, deepest, upper", [("vgg16", 9, 3), ("resnet50", 40, 12)])
def test_a_higher_cut_is_computed_from_the_deepest_cuts_cache_and_equals_the_direct_pass(family, deepest, upper, tmp_path):
    keras.backend.clear_session()
    images = _images()
    model = build_model(params_for(family), 1)
    backbone = backbone_of(model)
    root, cut = deepest_cut(backbone, deepest), plan_cut(backbone, upper).cut_layer
    output = deepest_cut(backbone, None)
    assert lies_below(backbone, root, cut) and lies_below(backbone, cut, output) and root != cut
    direct = {c: extract(feature_model(model, c), images) for c in (cut, output)}

    passes = FrozenPasses(ActivationCache(tmp_path), deepest)
    activations_at(passes, _key(family, root, images), images, lambda: model)
    # The pixels are not read again: with the deepest cut cached, garbage images give the true activations above it.
    garbage = np.zeros_like(images)
    for c in (cut, output):
        derived = activations_at(passes, _key(family, c, images), garbage, lambda: model)
        np.testing.assert_allclose(derived, direct[c], rtol=1e-5, atol=1e-5)
    # Each cut keeps its own cache entry, read back by a later process.
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_without_fine_tuning_the_output_is_computed_from_the_pixels(tmp_path):
    keras.backend.clear_session()
    images = _images()
    model = build_model(params_for("vgg16"), 1)
    output = deepest_cut(backbone_of(model), None)
    passes = FrozenPasses(ActivationCache(tmp_path), None)
    got = activations_at(passes, _key("vgg16", output, images), images, lambda: model)
    np.testing.assert_array_equal(got, extract(feature_model(model, output), images))
    assert len(list(tmp_path.glob("*.npy"))) == 1


def test_a_cut_below_the_deepest_one_is_still_computed_from_the_pixels(tmp_path):
    """A space narrowed since its deepest cut was cached: the lower cut is not derivable, so it is computed directly."""
    keras.backend.clear_session()
    images = _images()
    model = build_model(params_for("vgg16"), 1)
    backbone = backbone_of(model)
    low = plan_cut(backbone, 9).cut_layer
    passes = FrozenPasses(ActivationCache(tmp_path), 3)
    got = activations_at(passes, _key("vgg16", low, images), images, lambda: model)
    np.testing.assert_array_equal(got, extract(feature_model(model, low), images))


def test_augmented_views_at_a_higher_cut_come_from_the_deepest_cuts_views(tmp_path):
    keras.backend.clear_session()
    images = _images()
    model = build_model(params_for("vgg16"), 1)
    backbone = backbone_of(model)
    root, output = deepest_cut(backbone, 9), deepest_cut(backbone, None)
    aug = AugmentationParams(flip=True, rotation=0.1)
    passes = FrozenPasses(ActivationCache(tmp_path), 9)

    def path_of(cut: str):
        return tmp_path / f"{cut}-views.npy"

    derived = views_at(passes, output, model, images, aug, 2, 11, path_of)
    assert path_of(root).is_file() and path_of(output).is_file()
    direct = view_activations(feature_model(model, output), images, aug, 2, 11, None)
    assert derived.shape == direct.shape == (2, len(images), *direct.shape[2:])
    # The deepest cut's views are stored as float16: the layers above see them rounded (relative error ~1e-3).
    scale = float(np.abs(direct.astype("float32")).max())
    np.testing.assert_allclose(derived.astype("float32"), direct.astype("float32"), atol=2e-2 * scale)
