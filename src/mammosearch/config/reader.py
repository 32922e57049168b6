"""YAML search space (+ ``--set`` overrides) -> a frozen, validated :class:`Space`.

Every key is checked where it enters: unknown keys are rejected (with a suggestion for
typos), and every message names the key path and the value received, e.g.
``demo.yaml: training.learning_rate: `low <= high` must hold, but got low=0.1, high=0.01``.
The ``data:`` section is read by the chosen source's own reader (``data/sources/``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from mammosearch.config._evaluation import check_cv_options, read_evaluation
from mammosearch.config._tunable import bool_param, float_param, int_param, size_param, str_param
from mammosearch.config._yaml_load import YamlBombError, load_yaml
from mammosearch.config.schema import (
    OBJECTIVES,
    OPTIMIZERS,
    PRUNERS,
    SAMPLERS,
    AugmentationSpace,
    CnnSpace,
    HeadSpace,
    ModelSpace,
    PrunerSpec,
    Space,
    StudySpec,
    TrainingSpace,
)
from mammosearch.data import SOURCES, DataSpec, SplitSpec, data_keys
from mammosearch.data.checks import KEYS as CHECK_KEYS
from mammosearch.data.checks import PATIENTS, PHOTOMETRY, DataChecks
from mammosearch.errors import SpaceError
from mammosearch.models import HEADS, family_names, transfer_families
from mammosearch.models import family as family_entry
from mammosearch.spec import Fields, ParamSpec, show, size_options, smallest_size


def load_space(path: Path | None, overrides: Sequence[str] = ()) -> Space:
    """Read and validate a YAML space; ``None`` gives the built-in demo space.

    ``overrides`` are ``key.path=value`` strings (``--set model.weights=none``); each value
    is read as YAML and validated like the file's own keys. A relative path in the file is
    relative to the file's folder; one given in an override, to the working directory.
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


def read_yaml(text: str, source: str) -> Any:
    """One YAML document (a space, or one ``--set``/``--data`` value): refused tags, bombs and malformed text are one line naming ``source``."""
    try:
        # Safe loading (tags such as !!python/object are refused, never constructed), with
        # alias expansion measured before any value is built (a billion-laughs document).
        return load_yaml(text)
    except YamlBombError as exc:
        raise SpaceError(f"{source}: refused YAML: {exc}") from None
    except RecursionError:
        raise SpaceError(f"{source}: refused YAML: nested too deeply to read (thousands of levels); a space is a few levels deep") from None
    except yaml.constructor.ConstructorError as exc:
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
        node[parts[-1]] = read_yaml(value, f"--set {key}")
    return tree


def parse_space(text: str, source: str = "<string>", base_dir: Path | None = None, overrides: Sequence[str] = ()) -> Space:
    """Parse YAML text into a :class:`Space`; raises :class:`SpaceError` with the key path."""
    raw = read_yaml(text, source)
    if raw is None:
        raw = {}
    if overrides:
        raw = apply_overrides(raw, overrides)
    overridden = frozenset(item.partition("=")[0].strip() for item in overrides)
    return _Sections(Fields(source, base_dir or Path.cwd(), overridden)).space(raw)


class _Sections:
    """One method per section of the space; scalars through :class:`Fields`."""

    def __init__(self, fields: Fields) -> None:
        self.f = fields

    def space(self, raw: Any) -> Space:
        top = self.f.mapping(raw, "", ("study", "data", "model", "training", "evaluation"))
        default = Space()
        data_raw = self.f.mapping(top.get("data"), "data", data_keys())
        checks = self.checks({key: data_raw.pop(key) for key in CHECK_KEYS if key in data_raw})
        model = self.model(top.get("model"))
        study, evaluation = self.study(top.get("study")), read_evaluation(self.f, top.get("evaluation"))
        check_cv_options(self.f, study, evaluation)
        return Space(
            study=study,
            data=self.data(data_raw) if set(data_raw) - {"split"} else default.data,
            split=self.split(data_raw.get("split")) if "split" in data_raw else default.split,
            checks=checks,
            model=model,
            training=self.training(top.get("training")),
            evaluation=evaluation,
            source=self.f.source,
        )

    def checks(self, raw: dict[str, Any]) -> DataChecks:
        d = DataChecks()
        return DataChecks(
            photometry=self.f.choice(raw.get("photometry", d.photometry), "data.photometry", PHOTOMETRY),
            patients=self.f.choice(raw.get("patients", d.patients), "data.patients", PATIENTS),
        )

    def study(self, node: Any) -> StudySpec:
        f = self.f
        raw = f.mapping(node, "study", ("name", "sampler", "pruner", "n_trials", "timeout", "seed", "objective", "keep_top_k", "keep_fold_models"))
        d = StudySpec()
        name = raw.get("name", d.name)
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise f.fail("study.name", f"expected a non-empty string, got {show(name)}")
        n_trials = None if raw.get("n_trials", d.n_trials) is None else f.integer(raw.get("n_trials", d.n_trials), "study.n_trials", 1, 100_000)
        timeout = None if raw.get("timeout") is None else f.number(raw["timeout"], "study.timeout", 1.0)
        if n_trials is None and timeout is None:
            raise f.fail("study", "set `n_trials`, `timeout` or both, or the study never ends")
        return StudySpec(
            name=name,
            sampler=f.choice(raw.get("sampler", d.sampler), "study.sampler", SAMPLERS),
            pruner=self.pruner(raw.get("pruner", d.pruner.name)),
            n_trials=n_trials,
            timeout=timeout,
            seed=f.integer(raw.get("seed", d.seed), "study.seed", 0),
            objective=f.choice(raw.get("objective", d.objective), "study.objective", OBJECTIVES),
            keep_top_k=f.integer(raw.get("keep_top_k", d.keep_top_k), "study.keep_top_k", 1, 1000),
            keep_fold_models=f.boolean(raw.get("keep_fold_models", d.keep_fold_models), "study.keep_fold_models"),
        )

    def pruner(self, node: Any) -> PrunerSpec:
        f = self.f
        if isinstance(node, str) or not isinstance(node, dict):
            return PrunerSpec(name=f.choice(node, "study.pruner", PRUNERS))
        raw = f.mapping(node, "study.pruner", ("name", "n_startup_trials", "n_warmup_steps", "min_resource", "reduction_factor", "p_threshold"))
        d = PrunerSpec()
        return PrunerSpec(
            name=f.choice(raw.get("name", d.name), "study.pruner.name", PRUNERS),
            n_startup_trials=f.integer(raw.get("n_startup_trials", d.n_startup_trials), "study.pruner.n_startup_trials", 0),
            n_warmup_steps=f.integer(raw.get("n_warmup_steps", d.n_warmup_steps), "study.pruner.n_warmup_steps", 0),
            min_resource=f.integer(raw.get("min_resource", d.min_resource), "study.pruner.min_resource", 1),
            reduction_factor=f.integer(raw.get("reduction_factor", d.reduction_factor), "study.pruner.reduction_factor", 2),
            p_threshold=f.number(raw.get("p_threshold", d.p_threshold), "study.pruner.p_threshold", 0.0, 1.0),
        )

    def data(self, raw: dict[str, Any]) -> DataSpec:
        name = self.f.choice(raw.get("source", "synthetic"), "data.source", tuple(SOURCES))
        entry = SOURCES[name]
        for key in raw:
            if key not in entry.keys and key not in ("source", "split"):
                raise self.f.fail(f"data.{key}", f"not an option of source '{name}' (allowed: {', '.join(entry.keys)})")
        spec: DataSpec = entry.read(self.f, raw)
        return spec

    def split(self, node: Any) -> SplitSpec:
        f = self.f
        raw = f.mapping(node, "data.split", ("validation", "test", "seed"))
        d = SplitSpec()
        validation = f.number(raw.get("validation", d.validation), "data.split.validation", 0.01, 0.9)
        test = f.number(raw.get("test", d.test), "data.split.test", 0.0, 0.9)
        if validation + test >= 0.95:
            raise f.fail("data.split", f"validation + test must leave data to train on, got {validation} + {test}")
        return SplitSpec(validation=validation, test=test, seed=f.integer(raw.get("seed", d.seed), "data.split.seed", 0))

    def model(self, node: Any) -> ModelSpace:
        f = self.f
        raw = f.mapping(node, "model", ("families", "heads", "input_size", "weights", "cnn", "head"))
        d = ModelSpace()
        families = f.choices(raw.get("families", list(d.families)), "model.families", family_names())
        heads = f.choices(raw.get("heads", list(d.heads)), "model.heads", HEADS)
        input_size = size_param(f, raw.get("input_size", 32), "model.input_size", 16, 1024)
        sizes = size_options(input_size) or (smallest_size(input_size),)  # a range of squares: its lowest
        narrowest = min(sizes, key=lambda size: size.shortest_side)
        too_small = [family_entry(name) for name in families if narrowest.shortest_side < family_entry(name).min_input_size]
        if too_small:
            needs = max(entry.min_input_size for entry in too_small)
            names = " and ".join(entry.application or entry.name for entry in too_small)
            got = f"px, got {narrowest.height}" if narrowest.is_square else f"px on each side, got {narrowest} (height x width)"
            raise f.fail("model.input_size", f"{names} need{'s' if len(too_small) == 1 else ''} inputs of at least {needs} {got}")
        cnn_raw = f.mapping(raw.get("cnn"), "model.cnn", ("filters", "kernel_size", "dense_units", "dropout"))
        c = CnnSpace()
        cnn = CnnSpace(
            filters=int_param(f, cnn_raw["filters"], "model.cnn.filters", 1, 1024) if "filters" in cnn_raw else c.filters,
            kernel_size=int_param(f, cnn_raw["kernel_size"], "model.cnn.kernel_size", 1, 15) if "kernel_size" in cnn_raw else c.kernel_size,
            dense_units=int_param(f, cnn_raw["dense_units"], "model.cnn.dense_units", 1, 8192) if "dense_units" in cnn_raw else c.dense_units,
            dropout=float_param(f, cnn_raw["dropout"], "model.cnn.dropout", 0.0, 0.95) if "dropout" in cnn_raw else c.dropout,
        )
        head_raw = f.mapping(raw.get("head"), "model.head", ("dense_units", "dropout"))
        h = HeadSpace()
        head = HeadSpace(
            dense_units=int_param(f, head_raw["dense_units"], "model.head.dense_units", 1, 8192) if "dense_units" in head_raw else h.dense_units,
            dropout=float_param(f, head_raw["dropout"], "model.head.dropout", 0.0, 0.95) if "dropout" in head_raw else h.dropout,
        )
        return ModelSpace(families=families, heads=heads, input_size=input_size, weights=self.weights(raw.get("weights", "none"), families), cnn=cnn, head=head)

    def weights(self, node: Any, families: tuple[str, ...]) -> dict[str, str | None]:
        """``weights: imagenet|none|<file>`` for every transfer family, or a per-family mapping."""
        transfer = [family for family in families if family in transfer_families()]
        if isinstance(node, dict):
            raw = self.f.mapping(node, "model.weights", transfer_families())
            values = {family: raw.get(family, "none") for family in transfer}
            paths = {family: f"model.weights.{family}" for family in transfer}
        else:
            values = {family: node for family in transfer}
            paths = {family: "model.weights" for family in transfer}
        resolved: dict[str, str | None] = {}
        for family, value in values.items():
            if value is None or value == "none":
                resolved[family] = None
            elif value == "imagenet":
                resolved[family] = "imagenet"
            else:
                file = self.f.path(value, paths[family])
                if not file.is_file():
                    where = str(file) if len(str(file)) <= 300 else str(file)[:297] + "..."
                    raise self.f.fail(paths[family], f"expected imagenet, none or an existing weights file, got {show(value)} ({where} does not exist)")
                resolved[family] = str(file)
        return resolved

    def training(self, node: Any) -> TrainingSpace:
        f = self.f
        raw = f.mapping(node, "training", (
            "optimizer", "learning_rate", "batch_size", "epochs", "fine_tune", "unfrozen_layers",
            "fine_tune_learning_rate", "fine_tune_epochs", "class_weights", "cache_activations", "augmentation", "augmentation_views",
        ))
        d = TrainingSpace()

        def get(key: str, parse: Callable[[Any, str], ParamSpec]) -> ParamSpec:
            value: ParamSpec = parse(raw[key], f"training.{key}") if key in raw else getattr(d, key)
            return value

        aug_raw = f.mapping(raw.get("augmentation"), "training.augmentation", ("flip", "rotation", "zoom", "contrast"))
        a = AugmentationSpace()
        augmentation = AugmentationSpace(
            flip=bool_param(f, aug_raw["flip"], "training.augmentation.flip") if "flip" in aug_raw else a.flip,
            rotation=float_param(f, aug_raw["rotation"], "training.augmentation.rotation", 0.0, 0.5) if "rotation" in aug_raw else a.rotation,
            zoom=float_param(f, aug_raw["zoom"], "training.augmentation.zoom", 0.0, 0.5) if "zoom" in aug_raw else a.zoom,
            contrast=float_param(f, aug_raw["contrast"], "training.augmentation.contrast", 0.0, 0.9) if "contrast" in aug_raw else a.contrast,
        )
        return TrainingSpace(
            optimizer=get("optimizer", lambda n, p: str_param(f, n, p, OPTIMIZERS)),
            learning_rate=get("learning_rate", lambda n, p: float_param(f, n, p, 0.0, 10.0, positive=True)),
            batch_size=get("batch_size", lambda n, p: int_param(f, n, p, 1, 4096)),
            epochs=get("epochs", lambda n, p: int_param(f, n, p, 1, 1000)),
            fine_tune=get("fine_tune", lambda n, p: bool_param(f, n, p)),
            unfrozen_layers=get("unfrozen_layers", lambda n, p: int_param(f, n, p, 1, 1000)),
            fine_tune_learning_rate=get("fine_tune_learning_rate", lambda n, p: float_param(f, n, p, 0.0, 10.0, positive=True)),
            fine_tune_epochs=get("fine_tune_epochs", lambda n, p: int_param(f, n, p, 1, 1000)),
            class_weights=f.boolean(raw.get("class_weights", d.class_weights), "training.class_weights"),
            cache_activations=f.boolean(raw.get("cache_activations", d.cache_activations), "training.cache_activations"),
            augmentation_views=f.integer(raw.get("augmentation_views", d.augmentation_views), "training.augmentation_views", 1, 64),
            augmentation=augmentation,
        )
