"""The search space as frozen, validated dataclasses (built by ``reader.py``).

An empty space is valid and *is* the built-in demo: every default below is what
``search_spaces/demo.yaml`` spells out (a test keeps the two equal), so ``mammosearch run``
with no ``--space`` runs the demo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from mammosearch.data import DataSpec, SplitSpec, SyntheticSpec
from mammosearch.data.checks import DataChecks
from mammosearch.models import transfer_families
from mammosearch.spec import Categorical, Fixed, FloatRange, IntRange, ParamSpec

SAMPLERS = ("tpe", "random", "gp", "cmaes")
PRUNERS = ("median", "hyperband", "successive_halving", "wilcoxon", "none")
TTA = ("none", "flip")
OBJECTIVES = ("val_auc",)
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")


@dataclass(frozen=True)
class PrunerSpec:
    name: str = "median"
    n_startup_trials: int = 3  # median: trials before any pruning
    n_warmup_steps: int = 1  # median: epochs before a trial can be pruned
    min_resource: int = 1  # hyperband / successive halving
    reduction_factor: int = 3
    p_threshold: float = 0.1  # wilcoxon: prune when the trial is worse than the best with p below this


@dataclass(frozen=True)
class StudySpec:
    name: str | None = None  # default: the YAML file's stem ("demo" for the built-in space)
    sampler: str = "tpe"
    pruner: PrunerSpec = field(default_factory=PrunerSpec)
    n_trials: int | None = 10
    timeout: float | None = None  # seconds
    seed: int = 0
    objective: str = "val_auc"
    keep_top_k: int = 3  # trials whose trained model is kept on disk for export
    # Under CV: every fold's model of a kept trial, not only the first (`export-best --folds`); k times the disk and save time.
    keep_fold_models: bool = False


@dataclass(frozen=True)
class CnnSpace:
    filters: ParamSpec = Categorical((16, 32))
    kernel_size: ParamSpec = Fixed(3)
    dense_units: ParamSpec = Categorical((32, 64, 128))
    dropout: ParamSpec = FloatRange(0.2, 0.5)


@dataclass(frozen=True)
class HeadSpace:
    dense_units: ParamSpec = Categorical((64, 128))
    dropout: ParamSpec = FloatRange(0.2, 0.5)


@dataclass(frozen=True)
class ModelSpace:
    families: tuple[str, ...] = ("cnn", "vgg16", "resnet50")
    heads: tuple[str, ...] = ("dense_bn_dropout", "gap_dropout")
    input_size: ParamSpec = Fixed(32)
    # family -> "imagenet" | None | absolute path of a weights file
    weights: Mapping[str, str | None] = field(
        default_factory=lambda: {"vgg16": None, "resnet50": None}
    )
    cnn: CnnSpace = field(default_factory=CnnSpace)
    head: HeadSpace = field(default_factory=HeadSpace)


@dataclass(frozen=True)
class AugmentationSpace:
    # Off by default: transfer trials without augmentation train on cached activations.
    flip: ParamSpec = Fixed(False)
    rotation: ParamSpec = Fixed(0.0)
    zoom: ParamSpec = Fixed(0.0)
    contrast: ParamSpec = Fixed(0.0)


@dataclass(frozen=True)
class TrainingSpace:
    optimizer: ParamSpec = Fixed("adam")
    learning_rate: ParamSpec = FloatRange(3e-4, 3e-3, log=True)
    batch_size: ParamSpec = Fixed(16)
    epochs: ParamSpec = Fixed(6)
    fine_tune: ParamSpec = Categorical((False, True))
    unfrozen_layers: ParamSpec = IntRange(1, 4)
    fine_tune_learning_rate: ParamSpec = FloatRange(1e-5, 1e-4, log=True)
    fine_tune_epochs: ParamSpec = Fixed(2)
    class_weights: bool = True
    cache_activations: bool = True  # frozen backbone layers run once per study, not per trial
    # With augmentation and the cache on: augmented views per image whose activations are
    # cached; each epoch draws one per training image (trial/views.py).
    augmentation_views: int = 8
    augmentation: AugmentationSpace = field(default_factory=AugmentationSpace)


@dataclass(frozen=True)
class EvaluationSpec:
    """``cv_folds``: patient-grouped stratified k-fold CV inside each trial (None = one split).

    ``tta``: ``flip`` also scores every validation (out-of-fold) and test image as the mean
    of its and its mirror image's probability, stored beside the plain scores, so ``report``
    shows both and ``export-best --tta flip`` gets a threshold chosen on the scores it will give.
    """

    cv_folds: int | None = None
    seed: int = 0
    tta: str = "none"


@dataclass(frozen=True)
class Space:
    study: StudySpec = field(default_factory=StudySpec)
    data: DataSpec = field(default_factory=lambda: SyntheticSpec(n_images=400, image_size=32))
    split: SplitSpec = field(default_factory=lambda: SplitSpec(validation=0.25, test=0.0))
    checks: DataChecks = field(default_factory=DataChecks)
    model: ModelSpace = field(default_factory=ModelSpace)
    training: TrainingSpace = field(default_factory=TrainingSpace)
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    source: str = "<built-in demo>"

    @property
    def study_name(self) -> str:
        if self.study.name:
            return self.study.name
        return Path(self.source).stem if self.source.endswith((".yaml", ".yml")) else "demo"

    def may_fine_tune(self) -> bool:
        """Whether any trial of this space can run a fine-tuning phase."""
        return any(f in transfer_families() for f in self.model.families) and self.training.fine_tune.can_be(True)

    def max_epochs(self) -> int:
        """The most epochs any trial can train (the pruners' and Hyperband's resource)."""
        training = self.training
        tuning = int(training.fine_tune_epochs.largest()) if self.may_fine_tune() else 0
        return int(training.epochs.largest()) + tuning


def with_overrides(space: Space, n_trials: int | None = None, timeout: float | None = None) -> Space:
    """Command-line overrides of the study's budget."""
    study = space.study
    if n_trials is not None:
        study = replace(study, n_trials=n_trials)
    if timeout is not None:
        study = replace(study, timeout=timeout)
    return replace(space, study=study)
