"""One frozen-backbone pass per image and view: the activations at every cut come from the deepest one.

A study's linear probe (the backbone's output), its feature-extraction trials (the same)
and its fine-tuning trials (one cut per unfrozen depth) each need the frozen layers'
activations at some cut. Computed from the pixels for each cut, the layers below the
lowest cut would run once per cut, and once more per augmented view. Instead the pixels
(and each augmented view) go through the frozen layers once, up to the deepest cut any
trial of the space may need (``models.cut.deepest_cut`` of the space's largest
``unfrozen_layers``), and every higher cut is computed from those activations through the
layers in between only. Each cut keeps its own cache entry (``ActivationKey``, the same
key as before), so a cut computed once is read back by every later trial and resumed run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mammosearch.config import Space
from mammosearch.spec import AugmentationParams
from mammosearch.trial.activations import BATCH, ActivationCache, ActivationKey, extract


def deepest_unfrozen(space: Space) -> int | None:
    """The most layers any trial of ``space`` unfreezes (None: no trial fine-tunes, the output is the deepest cut)."""
    return int(space.training.unfrozen_layers.largest()) if space.may_fine_tune() else None


@dataclass(frozen=True)
class FrozenPasses:
    """How a process computes activations: its cache, the space's deepest cut (as unfrozen layers), the batch size."""

    cache: ActivationCache
    deepest_unfrozen: int | None
    batch: int = BATCH  # images per forward pass (capped by the memory budget: models/memory.py)


def _root(backbone: Any, cut: str, deepest_unfrozen: int | None) -> str | None:
    """The cut to compute ``cut`` from, or None where ``cut`` itself is computed from the pixels."""
    from mammosearch.models.build import deepest_cut, lies_below

    root = deepest_cut(backbone, deepest_unfrozen)
    # A cut below the space's deepest (a space narrowed since) is computed from the pixels.
    return root if root != cut and lies_below(backbone, root, cut) else None


def activations_at(passes: FrozenPasses, key: ActivationKey, images: np.ndarray, full_model: Callable[[], Any]) -> np.ndarray:
    """The activations at ``key.cut_layer`` for every image: cached, derived from the deepest cut's, or computed.

    ``full_model()`` (any model holding the family's backbone with the key's weights) is
    called only on a miss: a feature-extraction trial whose activations are cached never
    builds its backbone.
    """

    def compute(path: Path | None) -> np.ndarray:
        from mammosearch.models.build import backbone_of, feature_model, layers_between

        model = full_model()
        backbone = backbone_of(model)
        root = _root(backbone, key.cut_layer, passes.deepest_unfrozen)
        if root is None:
            return extract(feature_model(model, key.cut_layer), images, path, passes.batch)
        below = activations_at(passes, replace(key, cut_layer=root), images, lambda: model)
        return extract(layers_between(backbone, root, key.cut_layer), below, path, passes.batch)

    return passes.cache.get(key, compute)


def views_at(
    passes: FrozenPasses, cut: str, model: Any, images: np.ndarray, aug: AugmentationParams, views: int, seed: int,
    path_of: Callable[[str], Path | None],
) -> np.ndarray:
    """``(views, N, ...)`` float16 activations of the augmented views at ``cut``, derived from the deepest cut's views.

    ``path_of(cut)`` is where a cut's views are stored (None: kept in memory only).
    """
    from mammosearch.models.build import backbone_of, feature_model, layers_between
    from mammosearch.trial.fit import cached_views, derived_views, view_activations

    backbone = backbone_of(model)
    root = _root(backbone, cut, passes.deepest_unfrozen)

    def compute(filling: Path | None) -> np.ndarray:
        if root is None:
            return view_activations(feature_model(model, cut), images, aug, views, seed, filling, passes.batch)
        below = views_at(passes, root, model, images, aug, views, seed, path_of)
        return derived_views(layers_between(backbone, root, cut), below, filling, passes.batch)

    return cached_views(path_of(cut), compute)
