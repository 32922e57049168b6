"""YAML search space -> frozen, validated dataclasses.

Every key is checked where it enters: unknown keys are rejected (with a suggestion for
typos), and every message names the key path and the value received, e.g.
``demo.yaml: training.learning_rate: `low <= high` must hold, but got low=0.1, high=0.01``.

An empty space is valid and *is* the built-in demo: every default below is what
``search_spaces/demo.yaml`` spells out (a test keeps the two equal), so ``mammosearch run``
with no ``--space`` runs the demo.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import yaml

from mammosearch.data.specs import CbisDdsmSpec, CsvSpec, DataSpec, FolderSpec, MiasSpec, SplitSpec, SyntheticSpec
from mammosearch.errors import SpaceError
from mammosearch.params import (
    FAMILIES,
    HEADS,
    OPTIMIZERS,
    TRANSFER_FAMILIES,
    Categorical,
    FloatRange,
    Fixed,
    IntRange,
    ParamSpec,
    Scalar,
)

SAMPLERS = ("tpe", "random", "gp", "cmaes")
PRUNERS = ("median", "hyperband", "successive_halving", "none")
OBJECTIVES = ("val_auc",)
MIN_TRANSFER_INPUT = 32  # keras.applications VGG16/ResNet50 refuse smaller inputs


@dataclass(frozen=True)
class PrunerSpec:
    name: str = "median"
    n_startup_trials: int = 3  # median: trials before any pruning
    n_warmup_steps: int = 1  # median: epochs before a trial can be pruned
    min_resource: int = 1  # hyperband / successive halving
    reduction_factor: int = 3


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
    augmentation: AugmentationSpace = field(default_factory=AugmentationSpace)


@dataclass(frozen=True)
class EvaluationSpec:
    """``cv_folds``: patient-grouped stratified k-fold CV inside each trial (None = one split)."""

    cv_folds: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class Space:
    study: StudySpec = field(default_factory=StudySpec)
    data: DataSpec = field(default_factory=lambda: SyntheticSpec(n_images=400, image_size=32))
    split: SplitSpec = field(default_factory=lambda: SplitSpec(validation=0.25, test=0.0))
    model: ModelSpace = field(default_factory=ModelSpace)
    training: TrainingSpace = field(default_factory=TrainingSpace)
    evaluation: EvaluationSpec = field(default_factory=EvaluationSpec)
    source: str = "<built-in demo>"

    @property
    def study_name(self) -> str:
        if self.study.name:
            return self.study.name
        return Path(self.source).stem if self.source.endswith((".yaml", ".yml")) else "demo"


# --------------------------------------------------------------------------- loading


def load_space(path: Path | None, overrides: Sequence[str] = ()) -> Space:
    """Read and validate a YAML space; ``None`` gives the built-in demo space.

    ``overrides`` are ``key.path=value`` strings (``--set model.weights=none``); each value
    is read as YAML and validated like the file's own keys.
    """
    if path is None:
        return parse_space("", overrides=overrides) if overrides else Space()
    path = Path(path)
    if not path.is_file():
        raise SpaceError(f"search space file not found: {path} (pass an existing YAML file to --space)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpaceError(f"cannot read search space {path}: {exc.strerror}") from None
    return parse_space(text, source=str(path), base_dir=path.parent, overrides=overrides)


def _load_yaml(text: str, source: str) -> Any:
    try:
        # safe_load: tags such as !!python/object are refused, never constructed.
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        # e.g. !!python/object/apply: the safe loader builds plain data, never Python objects.
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpaceError(f"{source}: refused YAML tag{where}: {exc.problem} (a space holds plain values only)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpaceError(f"{source}: malformed YAML{where}: {problem}") from None


def apply_overrides(raw: Any, overrides: Sequence[str]) -> Any:
    """Set ``a.b.c=value`` pairs in the raw YAML tree (before validation)."""
    tree = raw if isinstance(raw, dict) else {}
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise SpaceError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set model.weights=none")
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = _load_yaml(value, f"--set {key}")
    return tree


def parse_space(text: str, source: str = "<string>", base_dir: Path | None = None, overrides: Sequence[str] = ()) -> Space:
    """Parse YAML text into a :class:`Space`; raises :class:`SpaceError` with the key path."""
    raw = _load_yaml(text, source)
    if raw is None:
        raw = {}
    if overrides:
        raw = apply_overrides(raw, overrides)
    reader = _Reader(source, base_dir or Path.cwd())
    return reader.space(raw)


class _Reader:
    """Walks the raw YAML tree; every error carries ``source: key.path: message``."""

    def __init__(self, source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir

    # ----------------------------------------------------------------- primitives

    def fail(self, path: str, message: str) -> SpaceError:
        return SpaceError(f"{self.source}: {path}: {message}")

    def mapping(self, node: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(path or "<top level>", f"expected a mapping of keys, got {_show(node)}")
        for key in node:
            if not isinstance(key, str) or key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(
                    where, f"unknown key{suggestion} (allowed here: {', '.join(allowed)})"
                )
        return dict(node)

    def integer(self, node: Any, path: str, minimum: int | None = None, maximum: int | None = None) -> int:
        if isinstance(node, bool) or not isinstance(node, int):
            if isinstance(node, float) and node.is_integer():
                node = int(node)
            else:
                raise self.fail(path, f"expected an integer, got {_show(node)}")
        self._bounds(node, path, minimum, maximum)
        return node

    def number(self, node: Any, path: str, minimum: float | None = None, maximum: float | None = None) -> float:
        if isinstance(node, str):
            # YAML 1.1 reads "1e-4" (no dot) as a string; accept it as the number it means.
            try:
                node = float(node)
            except ValueError:
                raise self.fail(path, f"expected a number, got {_show(node)}") from None
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise self.fail(path, f"expected a number, got {_show(node)}")
        if not math.isfinite(node):
            raise self.fail(path, f"expected a finite number, got {node}")
        self._bounds(node, path, minimum, maximum)
        return float(node)

    def boolean(self, node: Any, path: str) -> bool:
        if not isinstance(node, bool):
            raise self.fail(path, f"expected true or false, got {_show(node)}")
        return node

    def choice(self, node: Any, path: str, allowed: tuple[str, ...]) -> str:
        if not isinstance(node, str) or node not in allowed:
            hint = difflib.get_close_matches(str(node), allowed, n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            raise self.fail(path, f"unknown value {_show(node)}{suggestion} (allowed: {', '.join(allowed)})")
        return node

    def choices(self, node: Any, path: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        items = node if isinstance(node, list) else [node]
        if not items:
            raise self.fail(path, f"must name at least one of: {', '.join(allowed)}")
        picked = tuple(self.choice(item, f"{path}[{i}]" if isinstance(node, list) else path, allowed) for i, item in enumerate(items))
        if len(set(picked)) != len(picked):
            raise self.fail(path, f"lists a value twice: {list(picked)}")
        return picked

    def _bounds(self, value: float, path: str, minimum: float | None, maximum: float | None) -> None:
        if minimum is not None and value < minimum:
            raise self.fail(path, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(path, f"must be <= {maximum}, got {value}")

    # ------------------------------------------------------------ tunable params

    def int_param(self, node: Any, path: str, minimum: int, maximum: int | None = None) -> ParamSpec:
        if isinstance(node, list):
            values = tuple(self.integer(v, f"{path}[{i}]", minimum, maximum) for i, v in enumerate(node))
            return self._categorical(values, path)
        if isinstance(node, dict):
            raw = self.mapping(node, path, ("low", "high", "step", "log"))
            for key in ("low", "high"):
                if key not in raw:
                    raise self.fail(path, f"a range needs `low` and `high`, `{key}` is missing")
            low = self.integer(raw["low"], f"{path}.low", minimum, maximum)
            high = self.integer(raw["high"], f"{path}.high", minimum, maximum)
            step = self.integer(raw.get("step", 1), f"{path}.step", 1)
            log = self.boolean(raw.get("log", False), f"{path}.log")
            self._ordered(low, high, path)
            if log and (step != 1 or low < 1):
                raise self.fail(path, "a log range needs low >= 1 and step 1")
            return IntRange(low, high, step, log)
        return Fixed(self.integer(node, path, minimum, maximum))

    def float_param(self, node: Any, path: str, minimum: float, maximum: float | None = None, positive: bool = False) -> ParamSpec:
        if isinstance(node, list):
            values = tuple(self._positive(self.number(v, f"{path}[{i}]", minimum, maximum), f"{path}[{i}]", positive) for i, v in enumerate(node))
            return self._categorical(values, path)
        if isinstance(node, dict):
            raw = self.mapping(node, path, ("low", "high", "log", "step"))
            for key in ("low", "high"):
                if key not in raw:
                    raise self.fail(path, f"a range needs `low` and `high`, `{key}` is missing")
            low = self._positive(self.number(raw["low"], f"{path}.low", minimum, maximum), f"{path}.low", positive)
            high = self._positive(self.number(raw["high"], f"{path}.high", minimum, maximum), f"{path}.high", positive)
            log = self.boolean(raw.get("log", False), f"{path}.log")
            step = None if raw.get("step") is None else self.number(raw["step"], f"{path}.step", 0.0)
            self._ordered(low, high, path)
            if log and low <= 0:
                raise self.fail(path, f"a log range needs low > 0, got low={low}")
            if log and step is not None:
                raise self.fail(path, "`step` and `log: true` cannot be combined")
            return FloatRange(low, high, log, step)
        return Fixed(self._positive(self.number(node, path, minimum, maximum), path, positive))

    def bool_param(self, node: Any, path: str) -> ParamSpec:
        if isinstance(node, list):
            return self._categorical(tuple(self.boolean(v, f"{path}[{i}]") for i, v in enumerate(node)), path)
        return Fixed(self.boolean(node, path))

    def str_param(self, node: Any, path: str, allowed: tuple[str, ...]) -> ParamSpec:
        if isinstance(node, list):
            return self._categorical(self.choices(node, path, allowed), path)
        return Fixed(self.choice(node, path, allowed))

    def _positive(self, value: float, path: str, positive: bool) -> float:
        if positive and value <= 0:
            raise self.fail(path, f"must be > 0, got {value}")
        return value

    def _categorical(self, values: tuple[Scalar, ...], path: str) -> ParamSpec:
        if not values:
            raise self.fail(path, "an empty list of choices; give at least one value")
        if len(set(values)) != len(values):
            raise self.fail(path, f"lists a value twice: {list(values)}")
        return Fixed(values[0]) if len(values) == 1 else Categorical(values)

    def _ordered(self, low: float, high: float, path: str) -> None:
        if low > high:
            raise self.fail(path, f"`low <= high` must hold, but got low={low}, high={high}")

    # ------------------------------------------------------------------ sections

    def space(self, raw: Any) -> Space:
        top = self.mapping(raw, "", ("study", "data", "model", "training", "evaluation"))
        default = Space()
        data_raw = self.mapping(top.get("data"), "data", _DATA_KEYS)
        model = self.model(top.get("model"))
        space = Space(
            study=self.study(top.get("study")),
            data=self.data(data_raw) if set(data_raw) - {"split"} else default.data,
            split=self.split(data_raw.get("split")) if "split" in data_raw else default.split,
            model=model,
            training=self.training(top.get("training"), model),
            evaluation=self.evaluation(top.get("evaluation")),
            source=self.source,
        )
        return space

    def evaluation(self, node: Any) -> EvaluationSpec:
        raw = self.mapping(node, "evaluation", ("cv_folds", "seed"))
        folds = raw.get("cv_folds")
        return EvaluationSpec(
            cv_folds=None if folds is None else self.integer(folds, "evaluation.cv_folds", 2, 20),
            seed=self.integer(raw.get("seed", 0), "evaluation.seed", 0),
        )

    def study(self, node: Any) -> StudySpec:
        raw = self.mapping(node, "study", ("name", "sampler", "pruner", "n_trials", "timeout", "seed", "objective", "keep_top_k"))
        d = StudySpec()
        name = raw.get("name", d.name)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise self.fail("study.name", f"expected a non-empty string, got {_show(name)}")
        n_trials = None if raw.get("n_trials", d.n_trials) is None else self.integer(raw.get("n_trials", d.n_trials), "study.n_trials", 1, 100_000)
        timeout = None if raw.get("timeout") is None else self.number(raw["timeout"], "study.timeout", 1.0)
        if n_trials is None and timeout is None:
            raise self.fail("study", "set `n_trials`, `timeout` or both, or the study never ends")
        return StudySpec(
            name=name,
            sampler=self.choice(raw.get("sampler", d.sampler), "study.sampler", SAMPLERS),
            pruner=self.pruner(raw.get("pruner", d.pruner.name)),
            n_trials=n_trials,
            timeout=timeout,
            seed=self.integer(raw.get("seed", d.seed), "study.seed", 0),
            objective=self.choice(raw.get("objective", d.objective), "study.objective", OBJECTIVES),
            keep_top_k=self.integer(raw.get("keep_top_k", d.keep_top_k), "study.keep_top_k", 1, 1000),
        )

    def pruner(self, node: Any) -> PrunerSpec:
        if isinstance(node, str) or not isinstance(node, dict):
            return PrunerSpec(name=self.choice(node, "study.pruner", PRUNERS))
        raw = self.mapping(node, "study.pruner", ("name", "n_startup_trials", "n_warmup_steps", "min_resource", "reduction_factor"))
        d = PrunerSpec()
        return PrunerSpec(
            name=self.choice(raw.get("name", d.name), "study.pruner.name", PRUNERS),
            n_startup_trials=self.integer(raw.get("n_startup_trials", d.n_startup_trials), "study.pruner.n_startup_trials", 0),
            n_warmup_steps=self.integer(raw.get("n_warmup_steps", d.n_warmup_steps), "study.pruner.n_warmup_steps", 0),
            min_resource=self.integer(raw.get("min_resource", d.min_resource), "study.pruner.min_resource", 1),
            reduction_factor=self.integer(raw.get("reduction_factor", d.reduction_factor), "study.pruner.reduction_factor", 2),
        )

    def data(self, raw: dict[str, Any]) -> DataSpec:
        source = self.choice(raw.get("source", "synthetic"), "data.source", tuple(_DATA_READERS))
        allowed = _DATA_READERS[source][0]
        for key in raw:
            if key not in allowed and key not in ("source", "split"):
                raise self.fail(f"data.{key}", f"not an option of source '{source}' (allowed: {', '.join(allowed)})")
        return _DATA_READERS[source][1](self, raw)

    def split(self, node: Any) -> SplitSpec:
        raw = self.mapping(node, "data.split", ("validation", "test", "seed"))
        d = SplitSpec()
        validation = self.number(raw.get("validation", d.validation), "data.split.validation", 0.01, 0.9)
        test = self.number(raw.get("test", d.test), "data.split.test", 0.0, 0.9)
        if validation + test >= 0.95:
            raise self.fail("data.split", f"validation + test must leave data to train on, got {validation} + {test}")
        return SplitSpec(validation=validation, test=test, seed=self.integer(raw.get("seed", d.seed), "data.split.seed", 0))

    def path(self, node: Any, path: str) -> Path:
        if not isinstance(node, str) or not node.strip():
            raise self.fail(path, f"expected a path, got {_show(node)}")
        # Relative paths are relative to the YAML file, so a space works from any directory.
        expanded = Path(os.path.expanduser(os.path.expandvars(node)))
        return expanded if expanded.is_absolute() else (self.base_dir / expanded).resolve()

    def model(self, node: Any) -> ModelSpace:
        raw = self.mapping(node, "model", ("families", "heads", "input_size", "weights", "cnn", "head"))
        d = ModelSpace()
        families = self.choices(raw.get("families", list(d.families)), "model.families", FAMILIES)
        heads = self.choices(raw.get("heads", list(d.heads)), "model.heads", HEADS)
        input_size = self.int_param(raw.get("input_size", 32), "model.input_size", 16, 1024)
        if any(f in TRANSFER_FAMILIES for f in families):
            smallest = _smallest(input_size)
            if smallest < MIN_TRANSFER_INPUT:
                raise self.fail("model.input_size", f"VGG16 and ResNet50 need inputs of at least {MIN_TRANSFER_INPUT} px, got {smallest}")
        cnn_raw = self.mapping(raw.get("cnn"), "model.cnn", ("filters", "kernel_size", "dense_units", "dropout"))
        c = CnnSpace()
        cnn = CnnSpace(
            filters=self.int_param(cnn_raw["filters"], "model.cnn.filters", 1, 1024) if "filters" in cnn_raw else c.filters,
            kernel_size=self.int_param(cnn_raw["kernel_size"], "model.cnn.kernel_size", 1, 15) if "kernel_size" in cnn_raw else c.kernel_size,
            dense_units=self.int_param(cnn_raw["dense_units"], "model.cnn.dense_units", 1, 8192) if "dense_units" in cnn_raw else c.dense_units,
            dropout=self.float_param(cnn_raw["dropout"], "model.cnn.dropout", 0.0, 0.95) if "dropout" in cnn_raw else c.dropout,
        )
        head_raw = self.mapping(raw.get("head"), "model.head", ("dense_units", "dropout"))
        h = HeadSpace()
        head = HeadSpace(
            dense_units=self.int_param(head_raw["dense_units"], "model.head.dense_units", 1, 8192) if "dense_units" in head_raw else h.dense_units,
            dropout=self.float_param(head_raw["dropout"], "model.head.dropout", 0.0, 0.95) if "dropout" in head_raw else h.dropout,
        )
        return ModelSpace(
            families=families,
            heads=heads,
            input_size=input_size,
            weights=self.weights(raw.get("weights", "none"), families),
            cnn=cnn,
            head=head,
        )

    def weights(self, node: Any, families: tuple[str, ...]) -> dict[str, str | None]:
        """``weights: imagenet|none|<file>`` for every transfer family, or a per-family mapping."""
        transfer = [f for f in families if f in TRANSFER_FAMILIES]
        if isinstance(node, dict):
            raw = self.mapping(node, "model.weights", TRANSFER_FAMILIES)
            values = {f: raw.get(f, "none") for f in transfer}
            paths = {f: f"model.weights.{f}" for f in transfer}
        else:
            values = {f: node for f in transfer}
            paths = {f: "model.weights" for f in transfer}
        resolved: dict[str, str | None] = {}
        for family, value in values.items():
            if value is None or value == "none":
                resolved[family] = None
            elif value == "imagenet":
                resolved[family] = "imagenet"
            else:
                file = self.path(value, paths[family])
                if not file.is_file():
                    raise self.fail(paths[family], f"expected imagenet, none or an existing weights file, got '{value}' ({file} does not exist)")
                resolved[family] = str(file)
        return resolved

    def training(self, node: Any, model: ModelSpace) -> TrainingSpace:
        raw = self.mapping(node, "training", (
            "optimizer", "learning_rate", "batch_size", "epochs", "fine_tune", "unfrozen_layers",
            "fine_tune_learning_rate", "fine_tune_epochs", "class_weights", "cache_activations", "augmentation",
        ))
        d = TrainingSpace()

        def get(key: str, parse: Callable[[Any, str], ParamSpec]) -> ParamSpec:
            return parse(raw[key], f"training.{key}") if key in raw else getattr(d, key)

        aug_raw = self.mapping(raw.get("augmentation"), "training.augmentation", ("flip", "rotation", "zoom", "contrast"))
        a = AugmentationSpace()
        augmentation = AugmentationSpace(
            flip=self.bool_param(aug_raw["flip"], "training.augmentation.flip") if "flip" in aug_raw else a.flip,
            rotation=self.float_param(aug_raw["rotation"], "training.augmentation.rotation", 0.0, 0.5) if "rotation" in aug_raw else a.rotation,
            zoom=self.float_param(aug_raw["zoom"], "training.augmentation.zoom", 0.0, 0.5) if "zoom" in aug_raw else a.zoom,
            contrast=self.float_param(aug_raw["contrast"], "training.augmentation.contrast", 0.0, 0.9) if "contrast" in aug_raw else a.contrast,
        )
        return TrainingSpace(
            optimizer=get("optimizer", lambda n, p: self.str_param(n, p, OPTIMIZERS)),
            learning_rate=get("learning_rate", lambda n, p: self.float_param(n, p, 0.0, 10.0, positive=True)),
            batch_size=get("batch_size", lambda n, p: self.int_param(n, p, 1, 4096)),
            epochs=get("epochs", lambda n, p: self.int_param(n, p, 1, 1000)),
            fine_tune=get("fine_tune", self.bool_param),
            unfrozen_layers=get("unfrozen_layers", lambda n, p: self.int_param(n, p, 1, 1000)),
            fine_tune_learning_rate=get("fine_tune_learning_rate", lambda n, p: self.float_param(n, p, 0.0, 10.0, positive=True)),
            fine_tune_epochs=get("fine_tune_epochs", lambda n, p: self.int_param(n, p, 1, 1000)),
            class_weights=self.boolean(raw.get("class_weights", d.class_weights), "training.class_weights"),
            cache_activations=self.boolean(raw.get("cache_activations", d.cache_activations), "training.cache_activations"),
            augmentation=augmentation,
        )


def _read_synthetic(reader: _Reader, raw: dict[str, Any]) -> SyntheticSpec:
    d = SyntheticSpec()
    return SyntheticSpec(
        n_images=reader.integer(raw.get("n_images", d.n_images), "data.n_images", 8, 1_000_000),
        image_size=reader.integer(raw.get("image_size", d.image_size), "data.image_size", 16, 1024),
        malignant_fraction=reader.number(raw.get("malignant_fraction", d.malignant_fraction), "data.malignant_fraction", 0.05, 0.95),
        difficulty=reader.number(raw.get("difficulty", d.difficulty), "data.difficulty", 0.0, 1.0),
        images_per_patient=reader.integer(raw.get("images_per_patient", d.images_per_patient), "data.images_per_patient", 1, 16),
        seed=reader.integer(raw.get("seed", d.seed), "data.seed", 0),
    )


def _read_folder(reader: _Reader, raw: dict[str, Any]) -> FolderSpec:
    if "root" not in raw:
        raise reader.fail("data.root", "source 'folder' needs `root`, the folder that holds one sub-folder per class")
    classes = raw.get("classes", ["benign", "malignant"])
    if not (isinstance(classes, list) and len(classes) == 2 and all(isinstance(c, str) and c for c in classes)) or classes[0] == classes[1]:
        raise reader.fail("data.classes", f"expected two different folder names [benign, malignant], got {_show(classes)}")
    regex = raw.get("patient_regex")
    if regex is not None:
        import re

        if not isinstance(regex, str):
            raise reader.fail("data.patient_regex", f"expected a regular expression string, got {_show(regex)}")
        try:
            re.compile(regex)
        except re.error as exc:
            raise reader.fail("data.patient_regex", f"invalid regular expression {regex!r}: {exc}") from None
    return FolderSpec(
        root=reader.path(raw["root"], "data.root"),
        image_size=reader.integer(raw.get("image_size", 64), "data.image_size", 16, 2048),
        classes=(classes[0], classes[1]),
        color=reader.choice(raw.get("color", "grayscale"), "data.color", ("grayscale", "rgb")),  # type: ignore[arg-type]
        patient_regex=regex,
    )


def _read_mias(reader: _Reader, raw: dict[str, Any]) -> MiasSpec:
    d = MiasSpec()
    return MiasSpec(
        root=reader.path(raw["root"], "data.root") if raw.get("root") is not None else None,
        image_size=reader.integer(raw.get("image_size", d.image_size), "data.image_size", 16, 1024),
        task=reader.choice(raw.get("task", d.task), "data.task", ("benign_vs_malignant", "normal_vs_abnormal")),  # type: ignore[arg-type]
        margin=reader.number(raw.get("margin", d.margin), "data.margin", 0.5, 10.0),
        min_crop=reader.integer(raw.get("min_crop", d.min_crop), "data.min_crop", 8, 1024),
        missing_coordinates=reader.choice(raw.get("missing_coordinates", d.missing_coordinates), "data.missing_coordinates", ("skip", "center")),  # type: ignore[arg-type]
        center_crop=reader.integer(raw.get("center_crop", d.center_crop), "data.center_crop", 16, 1024),
    )


def _read_csv(reader: _Reader, raw: dict[str, Any]) -> CsvSpec:
    if "path" not in raw:
        raise reader.fail("data.path", "source 'csv' needs `path`, a CSV with columns path,label[,patient_id][,split]")
    labels = raw.get("labels") or {}
    if not isinstance(labels, dict):
        raise reader.fail("data.labels", f"expected a mapping of label values to 0 or 1, e.g. {{B: 0, M: 1}}, got {_show(labels)}")
    for value, label in labels.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            raise reader.fail("data.labels", f"label values must be non-empty strings or integers, got {_show(value)}")
        reader.integer(label, f"data.labels.{value}", 0, 1)
    return CsvSpec(
        path=reader.path(raw["path"], "data.path"),
        image_size=reader.integer(raw.get("image_size", 64), "data.image_size", 16, 2048),
        color=reader.choice(raw.get("color", "grayscale"), "data.color", ("grayscale", "rgb")),  # type: ignore[arg-type]
        labels=tuple(sorted((str(value).strip().lower(), int(label)) for value, label in labels.items())),
    )


def _read_cbis_ddsm(reader: _Reader, raw: dict[str, Any]) -> CbisDdsmSpec:
    if "root" not in raw:
        raise reader.fail("data.root", "source 'cbis_ddsm' needs `root`, the folder with the description CSVs (or csv/ and jpeg/)")
    d = CbisDdsmSpec(root=Path("."))
    return CbisDdsmSpec(
        root=reader.path(raw["root"], "data.root"),
        image_size=reader.integer(raw.get("image_size", d.image_size), "data.image_size", 16, 2048),
        abnormality=reader.choice(raw.get("abnormality", d.abnormality), "data.abnormality", ("mass", "calc", "both")),  # type: ignore[arg-type]
        image=reader.choice(raw.get("image", d.image), "data.image", ("crop", "full")),  # type: ignore[arg-type]
        keep_official_split=reader.boolean(raw.get("keep_official_split", d.keep_official_split), "data.keep_official_split"),
        validation=reader.number(raw.get("validation", d.validation), "data.validation", 0.01, 0.9),
        test=reader.number(raw.get("test", d.test), "data.test", 0.0, 0.9),
        seed=reader.integer(raw.get("seed", d.seed), "data.seed", 0),
    )


# source -> (its keys, reader). New loaders register here.
_DATA_READERS: dict[str, tuple[tuple[str, ...], Callable[[_Reader, dict[str, Any]], DataSpec]]] = {
    "synthetic": (("n_images", "image_size", "malignant_fraction", "difficulty", "images_per_patient", "seed"), _read_synthetic),
    "folder": (("root", "image_size", "classes", "color", "patient_regex"), _read_folder),
    "mias": (("root", "image_size", "task", "margin", "min_crop", "missing_coordinates", "center_crop"), _read_mias),
    "csv": (("path", "image_size", "color", "labels"), _read_csv),
    "cbis_ddsm": (("root", "image_size", "abnormality", "image", "keep_official_split", "validation", "test", "seed"), _read_cbis_ddsm),
}
_DATA_KEYS: tuple[str, ...] = tuple(sorted({"source", "split", *(k for keys, _ in _DATA_READERS.values() for k in keys)}))


def _smallest(spec: ParamSpec) -> int:
    if isinstance(spec, Fixed):
        return int(spec.value)
    if isinstance(spec, Categorical):
        return int(min(spec.choices))  # type: ignore[type-var]
    return int(spec.low)  # type: ignore[union-attr]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def with_overrides(space: Space, n_trials: int | None = None, timeout: float | None = None) -> Space:
    """Command-line overrides of the study's budget."""
    study = space.study
    if n_trials is not None:
        study = replace(study, n_trials=n_trials)
    if timeout is not None:
        study = replace(study, timeout=timeout)
    return replace(space, study=study)
