"""A package face that loads each name on first use (PEP 562).

For the faces whose package mixes cheap and heavy modules that cheap importers reach through
the face: ``mammosearch.data`` (`mammosearch --help` reads its file names and archive limits;
its loaders pull in scikit-learn) and ``mammosearch.report`` (`export-best` reads stored
predictions; its leaderboard pulls in matplotlib). Such a face imports its names under
``if TYPE_CHECKING:`` (what mypy and a reader see) and hands the same table to
:func:`lazy_attributes` for run time, so importing the face, or any package under it, loads
no module it re-exports until one of its names is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_attributes(package: str, names_by_module: Mapping[str, tuple[str, ...]]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``'s face: each name from its module (relative to ``package``) when first asked for."""
    where = {name: f"{package}.{module}" for module, names in names_by_module.items() for name in names}
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # found directly from now on
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
