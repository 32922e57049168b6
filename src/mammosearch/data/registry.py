"""Data source name -> its :class:`~mammosearch.data.base.Source`.

A new source is one file in ``sources/`` (its spec, reader, loader, files and
description, ending in ``SOURCE = Source(...)``) plus one line here.
"""

from __future__ import annotations

from mammosearch.data.base import Source
from mammosearch.data.checks import KEYS as CHECK_KEYS
from mammosearch.data.sources import cbis_ddsm, csv, folder, mias, synthetic

SOURCES: dict[str, Source] = {
    module.SOURCE.name: module.SOURCE
    for module in (synthetic, folder, mias, csv, cbis_ddsm)
}


def source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"no loader for data source {name!r} (known: {', '.join(sorted(SOURCES))})") from None


def data_keys() -> tuple[str, ...]:
    """Every key a ``data:`` section may hold, over all sources."""
    return tuple(sorted({"source", "split", *CHECK_KEYS, *(key for entry in SOURCES.values() for key in entry.keys)}))
