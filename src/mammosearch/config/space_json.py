"""A validated :class:`Space` as plain JSON and back: how a study carries its space to every worker.

A cluster worker (``mammosearch worker``) starts on any node with only the storage URL and
the study name; it rebuilds the space the set-up run used from the study itself, not from
the YAML file (which may lie on another machine, or have been edited since) and not from a
pickle (which would tie the study to one Python and one version of every class in it).

The encoding is exact and closed: each dataclass of the space is written with its class
name, tuples, paths and mappings keep their kind, and only the classes a space is made of
(:func:`space_classes`) are rebuilt on reading. Paths are written absolute, as the set-up
resolved them: on a cluster the data lie on a shared file system under the same path.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mammosearch.config.schema import Space
from mammosearch.data import SOURCES
from mammosearch.errors import SpaceError
from mammosearch.spec import PARAM_SPECS

TYPE, TUPLE, PATH, MAP = "$type", "$tuple", "$path", "$map"
FORMAT = 1  # bump when the encoding changes meaning


def space_classes() -> dict[str, type]:
    """Every class a space is made of, by name: the sections (found from the default space), the parameter specs and each source's spec."""
    found: dict[str, type] = {cls.__name__: cls for cls in PARAM_SPECS}

    def walk(value: Any) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            found[type(value).__name__] = type(value)
            for field in dataclasses.fields(value):
                walk(getattr(value, field.name))

    walk(Space())
    for entry in SOURCES.values():
        spec = typing.get_type_hints(entry.read).get("return")
        if isinstance(spec, type) and dataclasses.is_dataclass(spec):
            found[spec.__name__] = spec
    return found


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {TYPE: type(value).__name__, **{f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, tuple):
        return {TUPLE: [_encode(v) for v in value]}
    if isinstance(value, Path):
        return {PATH: str(value.resolve())}
    if isinstance(value, Mapping):
        return {MAP: {str(k): _encode(v) for k, v in value.items()}}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise SpaceError(f"cannot record a space holding a {type(value).__name__} ({value!r})")


def space_to_json(space: Space) -> dict[str, Any]:
    """``space`` as JSON-ready data that :func:`space_from_json` turns back into an equal space."""
    return {"format": FORMAT, "space": _encode(space)}


def _decode(value: Any, classes: Mapping[str, type]) -> Any:
    if isinstance(value, list):
        return [_decode(v, classes) for v in value]
    if not isinstance(value, dict):
        return value
    if TUPLE in value:
        return tuple(_decode(v, classes) for v in value[TUPLE])
    if PATH in value:
        return Path(value[PATH])
    if MAP in value:
        return {k: _decode(v, classes) for k, v in value[MAP].items()}
    name = value.get(TYPE)
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None:
        raise SpaceError(f"the study's recorded space names an unknown part {name!r}: it was recorded by another version of mammosearch")
    return cls(**{k: _decode(v, classes) for k, v in value.items() if k != TYPE})


def space_from_json(recorded: Mapping[str, Any]) -> Space:
    """The space :func:`space_to_json` recorded; a record of another format or version is one :class:`SpaceError`."""
    if recorded.get("format") != FORMAT:
        raise SpaceError(f"the study's recorded space has format {recorded.get('format')!r}, this version reads {FORMAT}: run the worker with the mammosearch version that set the study up")
    try:
        space = _decode(recorded.get("space"), space_classes())
    except (TypeError, ValueError) as exc:
        raise SpaceError(f"the study's recorded space cannot be read by this version of mammosearch ({exc}): run the worker with the version that set the study up") from None
    if not isinstance(space, Space):
        raise SpaceError("the study's recorded space is not a search space: set the study up again with `mammosearch run --setup-only`")
    return space
