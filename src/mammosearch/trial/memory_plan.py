"""High resolution that fits: before the first trial, every configuration's batch memory against a budget.

For each family and input size of the space, one batch's memory is estimated from the
model's layer output shapes and weights (``models/memory.py``) on the path its trials take:
the frozen pass up to the space's deepest cut and the training above it where activations
are cached, the whole network otherwise. The training batch size is then capped to what
fits the budget (a trial records the batch size it trained with in its params), and so is
the number of images per frozen pass. A configuration where not even one image fits is
refused in one line, naming the settings to change, before any trial starts.

Building a model per family and size costs seconds (about 13 s for the demo's three
families at 32 px), so first an upper bound of the same figures is taken from the registry
and the models' shapes without building anything (``bound``): where it fits the budget at
the largest batch (and the frozen pass at its full batch), nothing is capped and nothing is
built. Only a configuration that may not fit is built and estimated as above.

The budget is ``MAMMOSEARCH_MEMORY_BUDGET_MB`` where set, otherwise a fraction of the GPU's
free memory or, on a CPU, of the available RAM, read when the training process starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from mammosearch.config import Space
from mammosearch.errors import SpaceError
from mammosearch.settings import number_setting
from mammosearch.spec import AugmentationParams, CnnParams, HeadParams, ImageSize, TrialParams, size_value
from mammosearch.trial._deepest_cut import deepest_unfrozen
from mammosearch.trial.activations import BATCH

BUDGET_ENV = "MAMMOSEARCH_MEMORY_BUDGET_MB"
RAM_FRACTION = 0.6  # of the available RAM: the rest for the data, caches in memory and the backend itself
GPU_FRACTION = 0.8  # of the GPU's free memory
MB = 2**20


def memory_budget() -> tuple[int, str]:
    """The bytes one batch may take, and where that figure comes from (for the refusal line)."""
    from mammosearch import runtime

    asked = number_setting(BUDGET_ENV, float, lambda v: 0 < v < math.inf, "a positive number of megabytes", 0.0,
                           f"({RAM_FRACTION:.0%} of the available RAM, or {GPU_FRACTION:.0%} of a GPU's free memory)")
    if asked:
        return int(asked * MB), f"{BUDGET_ENV}={asked:g}"
    free = runtime.free_accelerator_bytes()
    if free is not None:
        return int(GPU_FRACTION * free), f"{GPU_FRACTION:.0%} of the GPU's free memory; set {BUDGET_ENV} to change it"
    import psutil

    return int(RAM_FRACTION * psutil.virtual_memory().available), f"{RAM_FRACTION:.0%} of the available RAM; set {BUDGET_ENV} to change it"


@dataclass(frozen=True)
class BatchCaps:
    """Per ``family@size``: the largest training batch and the images per frozen pass within ``budget`` bytes."""

    budget: int = 0
    training: dict[str, int] = field(default_factory=dict)
    frozen: dict[str, int] = field(default_factory=dict)
    # One image's training step, for the refusal line: only configurations that were built and estimated.
    estimates_mb: dict[str, float] = field(default_factory=dict)

    def _lookup(self, table: dict[str, int], family: str, size: int | str, default: int) -> int:
        exact = table.get(f"{family}@{size}")
        if exact is not None:
            return exact
        # A size from a range was estimated at the range's largest: the most memory any of them takes.
        known = [value for key, value in table.items() if key.split("@")[0] == family]
        return min(known) if known else default

    def within(self, params: TrialParams) -> TrialParams:
        """``params`` with the batch size capped to what fits the budget."""
        cap = self._lookup(self.training, params.family, params.input_size, params.batch_size)
        return params if params.batch_size <= cap else replace(params, batch_size=cap)

    def frozen_batch(self, family: str, size: int | str) -> int:
        return self._lookup(self.frozen, family, size, BATCH)


def _sizes(spec: Any) -> list[int | str]:
    """Each size the space may train at, as trials store it (``"HxW"`` for a rectangle); a range: its largest square."""
    options = spec.options()
    if options is None:
        return [int(spec.largest())]
    return sorted({size_value(v) for v in options}, key=lambda v: ImageSize.of(v).pixels)


def _largest_params(space: Space, family: str, size: int | str) -> TrialParams:
    """The configuration of ``family`` at ``size`` that takes the most memory (widest CNN, widest head)."""
    from mammosearch.models import family as family_entry

    model, training = space.model, space.training
    cnn = model.cnn
    transfer = family_entry(family).transfer
    dense = "dense_bn_dropout" in model.heads
    return TrialParams(
        family=family, input_size=size, optimizer="adam", learning_rate=1e-3, batch_size=1, epochs=1, augmentation=AugmentationParams(),
        cnn=None if transfer else CnnParams(int(cnn.filters.largest()), int(cnn.kernel_size.largest()), int(cnn.dense_units.largest()), 0.0),
        head=HeadParams("dense_bn_dropout", 0.0, int(model.head.dense_units.largest())) if transfer and dense
        else HeadParams(model.heads[0], 0.0) if transfer else None,
        fine_tune=training.fine_tune.can_be(True),
    )


def bound(space: Space, family: str, size: int | str, channels: int) -> tuple[Any, Any]:
    """Upper bounds of ``estimate``'s (training, frozen pass or None), from the registry and the models' shapes, built from nothing.

    Every head of the space is bounded and the worst kept; the whole network trains with
    every weight trainable, which bounds each path a trial may take (cached or not).
    """
    from mammosearch.models import memory

    params = _largest_params(space, family, size)
    height, width = ImageSize.of(size).shape
    head_units = int(space.model.head.dense_units.largest())
    variants = [params] if params.head is None else [
        replace(params, head=HeadParams(kind, 0.0, head_units if kind == "dense_bn_dropout" else None)) for kind in space.model.heads
    ]
    layer_sets = [memory.bound_layers(variant, height, width, channels) for variant in variants]
    pixels = height * width * channels
    train = [memory.training(layers, pixels) for layers in layer_sets]
    worst = memory.BatchMemory(max(m.fixed for m in train), max(m.per_image for m in train))
    if not (params.is_transfer and space.training.cache_activations):
        return worst, None
    frozen = [memory.inference(layers, pixels) for layers in layer_sets]
    return worst, memory.BatchMemory(max(m.fixed for m in frozen), max(m.per_image for m in frozen))


def _fits_as_asked(space: Space, family: str, size: int | str, channels: int, budget: int) -> bool:
    """Whether the bound fits ``budget`` at the space's largest batch and, where there is one, a full frozen pass."""
    train, frozen = bound(space, family, size, channels)
    return train.at(int(space.training.batch_size.largest())) <= budget and (frozen is None or frozen.at(BATCH) <= budget)


def estimate(space: Space, family: str, size: int | str, channels: int) -> tuple[Any, Any]:
    """(training, frozen pass or None): one batch's ``models.memory.BatchMemory`` of ``family`` at ``size``."""
    import keras

    from mammosearch.models import build_model, memory
    from mammosearch.models.build import backbone_of, cut_tensor, deepest_cut

    params = _largest_params(space, family, size)
    keras.backend.clear_session(free_memory=True)
    model = build_model(params, channels)
    layers, pixels = memory.footprints(model), memory.input_elements(model)
    if not (params.is_transfer and space.training.cache_activations):
        return memory.training(layers, pixels), None
    backbone = backbone_of(model)
    cut = deepest_cut(backbone, deepest_unfrozen(space))
    below, above = memory.split_at(layers, cut)
    cut_elements = memory.elements(cut_tensor(backbone, cut))
    return memory.training(above, cut_elements), memory.inference(below, pixels)


def batch_caps(space: Space, channels: int) -> BatchCaps:
    """Every family and input size of ``space`` against the memory budget; refuses one where a single image does not fit."""
    budget, source = memory_budget()
    caps = BatchCaps(budget)
    largest_batch = int(space.training.batch_size.largest())
    for family in space.model.families:
        for size in _sizes(space.model.input_size):
            key = f"{family}@{size}"
            if _fits_as_asked(space, family, size, channels, budget):  # memory is no concern: nothing to build
                caps.training[key], caps.frozen[key] = largest_batch, BATCH
                continue
            train, frozen = estimate(space, family, size, channels)
            caps.training[key] = min(largest_batch, train.largest_batch(budget))
            caps.frozen[key] = BATCH if frozen is None else min(BATCH, frozen.largest_batch(budget))
            caps.estimates_mb[key] = round(max(train.at(1), 0 if frozen is None else frozen.at(1)) / MB, 1)
            if caps.training[key] < 1 or caps.frozen[key] < 1:
                raise SpaceError(
                    f"{family} at model.input_size {size} needs about {caps.estimates_mb[key]:,.0f} MB for a single image, "
                    f"more than the memory budget of {budget / MB:,.0f} MB ({source}): lower model.input_size"
                    + (" or drop it from model.families" if len(space.model.families) > 1 else "")
                )
    return caps
