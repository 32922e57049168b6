"""The data ``evaluate`` reads: a space's ``data`` section, or ``--data KEY=VALUE`` pairs."""

from __future__ import annotations

from pathlib import Path

import yaml

from mammosearch.config import Space, load_space, parse_space, read_yaml
from mammosearch.data.decode import Framing
from mammosearch.errors import ApplyError


def evaluation_space(space: Path | None, data: list[str], overrides: list[str], image_size: int | str | None = None,
                     framing: Framing | None = None) -> Space:
    """``image_size``: the model's data image size, used when ``--data`` does not name one, so
    the files are resized as in training (to that square, then to the model's input);
    ``framing``: the model's crop and orientation, likewise."""
    if space is not None and data:
        raise ApplyError("give the evaluation data with --space or with --data, not both")
    if space is not None:
        return load_space(space, overrides)
    if not data:
        raise ApplyError("no evaluation data: give --space SPACE.yaml (its data section) or --data source=... --data ...")
    section = {}
    for pair in data:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ApplyError(f"--data {pair!r}: expected KEY=VALUE, e.g. --data source=folder --data root=/data/site2")
        # The space's own loader: a YAML bomb or malformed value is one line, not a traceback.
        section[key.strip()] = read_yaml(value, f"--data {key.strip()}") if value.strip() else ""
    if image_size is not None:
        section.setdefault("image_size", image_size)
    if framing is not None and framing.active:  # only then: a source without these keys (synthetic) is not framed anyway
        for key, value in framing.to_json().items():
            section.setdefault(key, value)
    text = yaml.safe_dump({"data": section})
    return parse_space(text, source="--data", base_dir=Path.cwd(), overrides=overrides)
