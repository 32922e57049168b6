"""A tunable YAML node -> its :class:`~mammosearch.spec.params.ParamSpec`.

A scalar is :class:`Fixed`, a list :class:`Categorical` (or :class:`Fixed` when it holds
one value), a mapping with ``low``/``high`` a range. Values are checked with the key's
own limits, and the spec's own rules (``low <= high``, log ranges) become messages that
name the key path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mammosearch.spec import Fields, Fixed, FloatRange, IntRange, ParamSpec, Scalar, one_of, show


def _choices(fields: Fields, values: tuple[Scalar, ...], path: str) -> ParamSpec:
    if not values:
        raise fields.fail(path, "an empty list of choices; give at least one value")
    if len(set(values)) != len(values):
        raise fields.fail(path, f"lists a value twice: {show(list(values))}")
    return one_of(values)


def _range(fields: Fields, node: dict[str, Any], path: str, keys: tuple[str, ...], make: Callable[[dict[str, Any]], ParamSpec]) -> ParamSpec:
    raw = fields.mapping(node, path, keys)
    for key in ("low", "high"):
        if key not in raw:
            raise fields.fail(path, f"a range needs `low` and `high`, `{key}` is missing")
    try:
        return make(raw)
    except ValueError as exc:  # the spec's own rule, e.g. `low <= high` must hold
        raise fields.fail(path, str(exc).rstrip(".")) from None


def int_param(fields: Fields, node: Any, path: str, minimum: int, maximum: int | None = None) -> ParamSpec:
    if isinstance(node, list):
        return _choices(fields, tuple(fields.integer(v, f"{path}[{i}]", minimum, maximum) for i, v in enumerate(node)), path)
    if isinstance(node, dict):
        return _range(fields, node, path, ("low", "high", "step", "log"), lambda raw: IntRange(
            fields.integer(raw["low"], f"{path}.low", minimum, maximum),
            fields.integer(raw["high"], f"{path}.high", minimum, maximum),
            fields.integer(raw.get("step", 1), f"{path}.step", 1),
            fields.boolean(raw.get("log", False), f"{path}.log"),
        ))
    return Fixed(fields.integer(node, path, minimum, maximum))


def size_param(fields: Fields, node: Any, path: str, minimum: int, maximum: int | None = None) -> ParamSpec:
    """A size: ``256``, ``"1024x512"``, a list of them (a choice), or a ``low``/``high`` range of squares.

    Values are the sizes' param values (``ImageSize.param``): ints when every choice is a
    square, as studies always stored them; ``"HxW"`` strings for all choices once one is a
    rectangle (KerasTuner's ``Choice`` takes values of one type).
    """
    if isinstance(node, dict):
        return int_param(fields, node, path, minimum, maximum)
    if isinstance(node, list):
        sizes = tuple(fields.size(v, f"{path}[{i}]", minimum, maximum) for i, v in enumerate(node))
        if all(size.is_square for size in sizes):
            return _choices(fields, tuple(size.param() for size in sizes), path)
        return _choices(fields, tuple(str(size) for size in sizes), path)
    return Fixed(fields.size(node, path, minimum, maximum).param())


def float_param(fields: Fields, node: Any, path: str, minimum: float, maximum: float | None = None, positive: bool = False) -> ParamSpec:
    def number(value: Any, where: str) -> float:
        result = fields.number(value, where, minimum, maximum)
        if positive and result <= 0:
            raise fields.fail(where, f"must be > 0, got {result}")
        return result

    if isinstance(node, list):
        return _choices(fields, tuple(number(v, f"{path}[{i}]") for i, v in enumerate(node)), path)
    if isinstance(node, dict):
        return _range(fields, node, path, ("low", "high", "log", "step"), lambda raw: FloatRange(
            number(raw["low"], f"{path}.low"),
            number(raw["high"], f"{path}.high"),
            fields.boolean(raw.get("log", False), f"{path}.log"),
            None if raw.get("step") is None else fields.number(raw["step"], f"{path}.step", 0.0),
        ))
    return Fixed(number(node, path))


def bool_param(fields: Fields, node: Any, path: str) -> ParamSpec:
    if isinstance(node, list):
        return _choices(fields, tuple(fields.boolean(v, f"{path}[{i}]") for i, v in enumerate(node)), path)
    return Fixed(fields.boolean(node, path))


def str_param(fields: Fields, node: Any, path: str, allowed: tuple[str, ...]) -> ParamSpec:
    if isinstance(node, list):
        return _choices(fields, fields.choices(node, path, allowed), path)
    return Fixed(fields.choice(node, path, allowed))
