"""What the user asked for: YAML (+ --set) -> a frozen, validated Space (its parameter specs and TrialParams are in ``spec``)."""

from mammosearch.config.reader import load_space, parse_space, read_yaml
from mammosearch.config.schema import Space, with_overrides
from mammosearch.config.space_json import space_from_json, space_to_json

__all__ = [
    "Space",
    "load_space",
    "parse_space",
    "read_yaml",
    "space_from_json",
    "space_to_json",
    "with_overrides",
]
