"""A fine-tuning trial also caches the backbone's output from its untouched backbone: a later feature-extraction trial builds none."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mammosearch.config import parse_space
from mammosearch.data import load_image_set
from mammosearch.models import registry
from mammosearch.spec import AugmentationParams, TrialOutcome
from mammosearch.trial import TrialRunner
from model_params import params_for

# Trains real backbones: left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

SPACE = """
data: {source: synthetic, n_images: 48, image_size: 32, split: {validation: 0.25}}
model: {families: [vgg16], heads: [gap_dropout], input_size: 32}
training: {epochs: 1, batch_size: 8, fine_tune: [false, true], unfrozen_layers: {low: 1, high: 2}, fine_tune_epochs: 1}
"""


class _Trial:
    number = 0

    def report(self, value: float, step: int) -> None:
        pass

    def should_prune(self) -> bool:
        return False


def _params(fine_tune: bool):
    return params_for("vgg16", augmentation=AugmentationParams(), batch_size=8, seed=11, fine_tune=fine_tune,
                      unfrozen_layers=2 if fine_tune else 0, fine_tune_epochs=1 if fine_tune else 0,
                      fine_tune_learning_rate=1e-4 if fine_tune else None)


def _feature_extraction(runner: TrialRunner) -> TrialOutcome:
    keras.backend.clear_session()
    outcome = TrialOutcome(params=_params(False))
    runner.run(_Trial(), outcome)
    return outcome


def test_a_feature_extraction_trial_after_a_fine_tuning_one_builds_no_backbone_and_scores_the_same(monkeypatch):
    space = parse_space(SPACE, "space.yaml")
    images = load_image_set(space.data, space.split)
    alone = _feature_extraction(TrialRunner(space, images))  # its own backbone, built for its output

    runner = TrialRunner(space, images)
    runner.run(_Trial(), TrialOutcome(params=_params(True)))
    builds = []
    build = registry.build_model
    monkeypatch.setattr(registry, "build_model", lambda *args: builds.append(args) or build(*args))
    after = _feature_extraction(runner)

    assert builds == []  # the output came from the fine-tuning trial's backbone, before it trained
    assert after.val_metrics is not None and alone.val_metrics is not None
    assert after.val_metrics.auc == alone.val_metrics.auc
    assert np.array_equal(np.array(after.history[-1]["val_loss"]), np.array(alone.history[-1]["val_loss"]))
