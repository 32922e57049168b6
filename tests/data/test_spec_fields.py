"""A data source's keys, defaults and bounds are its spec's fields, written once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mammosearch.data import SOURCES, CbisDdsmSpec, CsvSpec, FolderSpec, MiasSpec, SyntheticSpec, data_keys
from mammosearch.data._spec_fields import integer, key, number, read_spec, spec_keys
from mammosearch.errors import SpaceError
from mammosearch.spec import Fields


@pytest.mark.parametrize("name, spec", [
    ("synthetic", SyntheticSpec), ("folder", FolderSpec), ("mias", MiasSpec), ("csv", CsvSpec), ("cbis_ddsm", CbisDdsmSpec),
])
def test_a_sources_keys_are_its_spec_fields(name, spec):
    assert SOURCES[name].keys == spec_keys(spec) == tuple(f.name for f in dataclasses.fields(spec) if f.name != "source")


@dataclasses.dataclass(frozen=True)
class _NewSpec:
    root: Path = key(read=lambda fields, node, where: fields.path(node, where))
    size: int = key(64, integer(16, 2048))
    share: float = key(0.5, number(0.0, 1.0))


def test_one_field_line_is_a_key_with_its_default_bounds_and_requirement(tmp_path):
    fields = Fields("space.yaml", tmp_path)
    spec = read_spec(_NewSpec, fields, {"root": str(tmp_path), "share": 0.25})
    assert spec == _NewSpec(root=tmp_path, size=64, share=0.25)
    assert spec_keys(_NewSpec) == ("root", "size", "share")
    with pytest.raises(SpaceError, match=r"data.size: .*2048"):
        read_spec(_NewSpec, fields, {"root": str(tmp_path), "size": 4096})
    with pytest.raises(SpaceError, match=r"data.root: this source needs `root`"):
        read_spec(_NewSpec, fields, {})


def test_synthetic_defaults_and_bounds_come_from_the_spec(tmp_path):
    fields = Fields("space.yaml", tmp_path)
    assert read_spec(SyntheticSpec, fields, {}) == SyntheticSpec()
    with pytest.raises(SpaceError, match=r"data.difficulty"):
        read_spec(SyntheticSpec, fields, {"difficulty": 1.5})
    assert {"n_images", "patient_regex", "root"} <= set(data_keys())
