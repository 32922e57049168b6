"""Scalar validators for the YAML space, shared by the space reader and the data sources.

Every message names where the value came from and the key path:
``demo.yaml: data.image_size: must be >= 16, got 8``.
"""

from __future__ import annotations

import difflib
import math
import os
import reprlib
from pathlib import Path
from typing import Any

from mammosearch.errors import SpaceError
from mammosearch.spec.size import ImageSize, SizeError

SHOWN_CHARS = 60


def _short_repr() -> reprlib.Repr:
    # reprlib stops at a few items per level and a few levels deep, so the text is short
    # BEFORE it is built: repr() of a shared, aliased YAML value would be gigabytes.
    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxtuple, short.maxdict, short.maxset = 3, 6, 6, 6, 6
    short.maxstring = short.maxother = short.maxlong = SHOWN_CHARS
    return short


_SHORT = _short_repr()


def show(value: Any) -> str:
    """A value as it appears in a message, cut to one short line (never built whole)."""
    text = _SHORT.repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


def suggestion(value: str, allowed: tuple[str, ...]) -> str:
    hint = difflib.get_close_matches(value, allowed, n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""


class Fields:
    """Reads typed values out of raw YAML nodes; every error is ``source: key.path: message``."""

    def __init__(self, source: str, base_dir: Path, overridden: frozenset[str] = frozenset()) -> None:
        self.source = source
        self.base_dir = base_dir
        # Key paths given on the command line (`--set data.root=x`): a relative path there is
        # typed in a shell, so it means the working directory, not the space file's folder.
        self.overridden = overridden

    def fail(self, path: str, message: str) -> SpaceError:
        return SpaceError(f"{self.source}: {path}: {message}")

    def mapping(self, node: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.fail(path or "<top level>", f"expected a mapping of keys, got {show(node)}")
        for key in node:
            if not isinstance(key, str) or key not in allowed:
                shown = key if isinstance(key, str) and len(key) <= SHOWN_CHARS else show(key)
                where = f"{path}.{shown}" if path else shown
                raise self.fail(where, f"unknown key{suggestion(str(key)[:SHOWN_CHARS], allowed)} (allowed here: {', '.join(allowed)})")
        return dict(node)

    def integer(self, node: Any, path: str, minimum: int | None = None, maximum: int | None = None) -> int:
        if isinstance(node, bool) or not isinstance(node, int):
            if isinstance(node, float) and node.is_integer():
                node = int(node)
            else:
                raise self.fail(path, f"expected an integer, got {show(node)}")
        self.bounds(node, path, minimum, maximum)
        return int(node)

    def size(self, node: Any, path: str, minimum: int | None = None, maximum: int | None = None) -> ImageSize:
        """``256`` (a square) or ``"1024x512"`` (height x width), each side within the bounds."""
        if isinstance(node, int) and not isinstance(node, bool):
            return ImageSize.square(self.integer(node, path, minimum, maximum))
        try:
            size = ImageSize.of(node)
        except SizeError as exc:
            raise self.fail(path, str(exc)) from None
        if size.is_square:
            self.bounds(size.height, path, minimum, maximum)
            return size
        for side in size.shape:
            if (minimum is not None and side < minimum) or (maximum is not None and side > maximum):
                limits = " and ".join(t for t in (f">= {minimum}" if minimum is not None else "", f"<= {maximum}" if maximum is not None else "") if t)
                raise self.fail(path, f"each side must be {limits}, got {size}")
        return size

    def number(self, node: Any, path: str, minimum: float | None = None, maximum: float | None = None) -> float:
        if isinstance(node, str):
            # YAML 1.1 reads "1e-4" (no dot) as a string; accept it as the number it means.
            try:
                node = float(node)
            except ValueError:
                raise self.fail(path, f"expected a number, got {show(node)}") from None
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise self.fail(path, f"expected a number, got {show(node)}")
        if not math.isfinite(node):
            raise self.fail(path, f"expected a finite number, got {node}")
        self.bounds(node, path, minimum, maximum)
        return float(node)

    def boolean(self, node: Any, path: str) -> bool:
        if not isinstance(node, bool):
            raise self.fail(path, f"expected true or false, got {show(node)}")
        return node

    def choice(self, node: Any, path: str, allowed: tuple[str, ...]) -> str:
        if not isinstance(node, str) or node not in allowed:
            hint = suggestion(node[:SHOWN_CHARS], allowed) if isinstance(node, str) else ""
            raise self.fail(path, f"unknown value {show(node)}{hint} (allowed: {', '.join(allowed)})")
        return node

    def choices(self, node: Any, path: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        items = node if isinstance(node, list) else [node]
        if not items:
            raise self.fail(path, f"must name at least one of: {', '.join(allowed)}")
        picked = tuple(self.choice(item, f"{path}[{i}]" if isinstance(node, list) else path, allowed) for i, item in enumerate(items))
        if len(set(picked)) != len(picked):
            raise self.fail(path, f"lists a value twice: {show(list(picked))}")
        return picked

    def bounds(self, value: float, path: str, minimum: float | None, maximum: float | None) -> None:
        if minimum is not None and value < minimum:
            raise self.fail(path, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(path, f"must be <= {maximum}, got {value}")

    def path(self, node: Any, path: str) -> Path:
        if not isinstance(node, str) or not node.strip():
            raise self.fail(path, f"expected a path, got {show(node)}")
        # Relative paths in the YAML file are relative to the file, so a space works from any
        # directory; those of --set (this key or a mapping above it) to the working directory.
        expanded = Path(os.path.expanduser(os.path.expandvars(node)))
        from_command_line = any(path == key or path.startswith(key + ".") for key in self.overridden)
        base = Path.cwd() if from_command_line else self.base_dir
        return expanded if expanded.is_absolute() else (base / expanded).resolve()

    def regex(self, node: Any, path: str) -> str | None:
        """A regular expression string (checked to compile), or None."""
        import re

        if node is None:
            return None
        if not isinstance(node, str):
            raise self.fail(path, f"expected a regular expression string, got {show(node)}")
        try:
            re.compile(node)
        except re.error as exc:
            raise self.fail(path, f"invalid regular expression {show(node)}: {exc}") from None
        return node
