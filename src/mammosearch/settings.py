"""Settings read from the environment when they are used, with one way to refuse a malformed one.

``MAMMOSEARCH_IN_MEMORY_MB`` and ``MAMMOSEARCH_MAX_PIXELS`` are read where they apply (and
checked once in the run's preflight); a value that does not parse, or parses out of range,
is one line naming the variable, what it must be and its default, never a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from mammosearch.errors import MammosearchError

T = TypeVar("T", int, float)

# Where a worker finds its study and its kept models without them on a command line (a URL's
# password in `ps`, `sacct` or a job record); named here, below every package, so the command
# line can name them as option defaults without loading the storage.
STORAGE_ENV = "MAMMOSEARCH_STORAGE"
ARTIFACTS_ENV = "MAMMOSEARCH_ARTIFACTS"


def number_setting(name: str, parse: Callable[[str], T], valid: Callable[[T], bool], must_be: str, default: T, default_text: str) -> T:
    """``name``'s value parsed by ``parse`` (``default`` when unset or blank); refused when it does not parse or is not ``valid``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or not valid(value):  # `not valid` also refuses NaN, which compares false with everything
        raise MammosearchError(f"{name} must be {must_be}, got {raw!r}; unset it for the default {default_text}")
    return value
