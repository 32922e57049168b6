"""compile_model: the train step is traced once per compile, and trains the same weights as Keras' own first-step build."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mammosearch.models import build_model
from mammosearch.models.build import head_only_model
from mammosearch.spec import AugmentationParams, HeadParams, TrialParams
from mammosearch.trial.fit import compile_model
from mammosearch.trial.fit._training import STEPS_PER_EXECUTION, make_optimizer

# Trains real (small) models: left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

HEAD = TrialParams(
    family="vgg16", input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=8, epochs=2,
    augmentation=AugmentationParams(), head=HeadParams("dense_bn_dropout", 0.3, 8), seed=5,
)


def _data(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((40, *shape)).astype("float32"), np.array([0, 1] * 20, dtype="float32")


def _traced_steps(model: keras.Model) -> list[int]:
    """Counts the Python executions of the model's train step: each one is a trace of it."""
    traced = [0]
    step = model.train_step

    def counted(data):  # noqa: ANN001, ANN202 - Keras' signature
        traced[0] += 1
        return step(data)

    model.train_step = counted
    return traced


@pytest.mark.parametrize("make", ["head", "full"])
def test_the_train_step_is_traced_once_per_compile(make):
    keras.backend.clear_session()
    if make == "head":
        model, shape = head_only_model(HEAD, (1, 1, 512)), (1, 1, 512)
    else:
        model, shape = build_model(HEAD, 1), (32, 32, 1)
    x, y = _data(shape)
    traced = _traced_steps(model)
    compile_model(model, "adam", 1e-3)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    # Without building the optimizer first, Adam's moments are created inside the first trace
    # and TensorFlow traces the step a second time.
    assert traced[0] == 1
    model.trainable = True  # a new phase: recompiled, traced once again for its own weights
    compile_model(model, "adam", 1e-4)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert traced[0] == 2


def test_building_the_optimizer_first_trains_bit_for_bit_the_same_weights():
    x, y = _data((1, 1, 512))
    trained = []
    for prebuilt in (True, False):
        keras.backend.clear_session()
        keras.utils.set_random_seed(3)
        model = head_only_model(HEAD, (1, 1, 512))
        if prebuilt:
            compile_model(model, "adam", 1e-3)
        else:  # what compile_model did before: Keras builds the optimizer in the first step
            model.compile(optimizer=make_optimizer("adam", 1e-3), loss="binary_crossentropy",
                          metrics=[keras.metrics.BinaryAccuracy(name="accuracy")], steps_per_execution=STEPS_PER_EXECUTION)
        model.fit(x, y, batch_size=8, epochs=3, verbose=0)
        trained.append(model.get_weights())
    for a, b in zip(*trained):
        np.testing.assert_array_equal(a, b)
