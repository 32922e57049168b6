"""A data source's YAML keys written once: as its spec's dataclass fields.

Each field of a source's spec carries its default and its reader (bounds included) in its
metadata, as ``key(default, reader)``; :func:`read_spec` reads a ``data:`` mapping into the
spec and :func:`spec_keys` lists the keys the source accepts. A new key is one field line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from mammosearch.spec import Fields

Reader = Callable[[Fields, Any, str], Any]  # (fields, YAML node, "data.<key>") -> value
SpecT = TypeVar("SpecT")
_READ = "read"


def key(default: Any = dataclasses.MISSING, read: Reader | None = None) -> Any:
    """A spec field that is a YAML key: its default (none: required) and how its value is read and checked."""
    metadata = {_READ: read or (lambda fields, node, path: node)}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def integer(minimum: int | None = None, maximum: int | None = None) -> Reader:
    return lambda fields, node, path: fields.integer(node, path, minimum, maximum)


def size(minimum: int | None = None, maximum: int | None = None) -> Reader:
    """A square's side or ``"HxW"``, kept as its param value: the int for a square (the cache key squares always had)."""
    return lambda fields, node, path: fields.size(node, path, minimum, maximum).param()


def number(minimum: float | None = None, maximum: float | None = None) -> Reader:
    return lambda fields, node, path: fields.number(node, path, minimum, maximum)


def choice(*allowed: str) -> Reader:
    return lambda fields, node, path: fields.choice(node, path, allowed)


def boolean() -> Reader:
    return lambda fields, node, path: fields.boolean(node, path)


def optional_boolean() -> Reader:
    """true, false, or null for the source's own default."""
    return lambda fields, node, path: fields.boolean(node, path) if node is not None else None


def optional_path() -> Reader:
    """A path, or null for the source's own default place."""
    return lambda fields, node, where: fields.path(node, where) if node is not None else None


def path() -> Reader:
    return lambda fields, node, where: fields.path(node, where)


def regex() -> Reader:
    return lambda fields, node, where: fields.regex(node, where)


def spec_keys(spec: type) -> tuple[str, ...]:
    """The YAML keys of a source: its spec's fields that are keys, in their order."""
    return tuple(f.name for f in dataclasses.fields(spec) if _READ in f.metadata)


def read_spec(spec: type[SpecT], fields: Fields, raw: dict[str, Any], required: Callable[[str], str] | None = None) -> SpecT:
    """``raw`` (the ``data:`` mapping) as ``spec``: every given key read and checked; absent ones take the field's default.

    ``required(key)`` words the error for a required key that is absent.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(spec):  # type: ignore[arg-type]
        if _READ not in f.metadata:
            continue
        where = f"data.{f.name}"
        if f.name in raw:
            values[f.name] = f.metadata[_READ](fields, raw[f.name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise fields.fail(where, required(f.name) if required else f"this source needs `{f.name}`")
    return spec(**values)
