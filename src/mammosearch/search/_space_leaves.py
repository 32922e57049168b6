"""The space as flat leaves (``{"key.path": value}``): what a study records and compares on resume.

Also the defaults of each section, so a key added after a study was recorded compares with
the default the study ran under, not with nothing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from mammosearch.config import Space
from mammosearch.spec import PARAM_SPECS

# Key paths (and everything under them) that may differ between runs of one study.
LEFT_OUT = (
    "source",  # where the YAML file lies, not what it says
    "study.name",  # the study is chosen by --study, not by this
    "study.n_trials",
    "study.timeout",
    "study.keep_top_k",  # how many trained models are kept on disk
    "study.sampler",  # which points are tried next, not what a point means
    "study.seed",
    "study.pruner",  # when a trial is stopped; a pruned trial is never ranked as complete
)

def under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == prefix or key.startswith(prefix + ".") for prefix in prefixes)


def _render(value: Any) -> str:
    """One leaf of the flattened space as a short, exact string (what the error message shows)."""
    if isinstance(value, PARAM_SPECS):
        return value.describe()
    # Tuples as lists, paths and anything else unusual as their text: JSON, so it reads as the YAML did.
    return json.dumps(list(value) if isinstance(value, tuple) else value, default=str)


def _flatten(value: Any, path: str, into: dict[str, str]) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, (type, *PARAM_SPECS)):
        for field in dataclasses.fields(value):
            _flatten(getattr(value, field.name), f"{path}.{field.name}" if path else field.name, into)
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str):
            _flatten(value[key], f"{path}.{key}", into)
    else:
        into[path] = _render(value)


def canonical_space(space: Space) -> dict[str, str]:
    """``{"key.path": value}`` for every setting that decides what a trial of ``space`` means."""
    flat: dict[str, str] = {}
    _flatten(space, "", flat)
    return {key: value for key, value in sorted(flat.items()) if not under(key, LEFT_OUT)}


def default_leaves(value: Any, path: str = "") -> dict[str, str]:
    """``{"key.path": value}`` of each section's defaults, for the sections that have all-default constructors.

    A key added to a space after a study was recorded is absent from its record; the study
    ran as the key's default (new keys default to the old behaviour), so that default is no change.
    """
    found: dict[str, str] = {}
    if not (dataclasses.is_dataclass(value) and not isinstance(value, (type, *PARAM_SPECS))):
        return found
    try:
        _flatten(type(value)(), path, found)
    except TypeError:  # a section with required fields (a data source's root): its parts may still have defaults
        pass
    for field in dataclasses.fields(value):
        found.update(default_leaves(getattr(value, field.name), f"{path}.{field.name}" if path else field.name))
    return found
