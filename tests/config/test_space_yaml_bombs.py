"""Hostile YAML: alias bombs are refused before any value is built; messages show short prefixes."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from mammosearch.config import parse_space
from mammosearch.errors import SpaceError
from mammosearch.spec import show

# The classic billion-laughs document, nine levels of nine aliases, where the model section
# reads the last one first: today's message rendered it whole (gigabytes, then MemoryError).
LAUGHS = """\
model:
  cnn:
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
  families: [*i]
"""


def test_a_billion_laughs_document_is_refused_in_well_under_a_second_and_a_few_megabytes():
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SpaceError, match=r"bomb\.yaml: refused YAML: aliases expand .* YAML bomb") as caught:
            parse_space(LAUGHS, source="bomb.yaml")
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 0.5, elapsed
    assert peak < 4 * 2**20, peak
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)


def test_a_bomb_given_with_set_is_refused_too():
    bomb = "[" + ",".join(["&a [1,2,3,4,5,6,7,8,9,10]"] + ["*a"] * 2000) + "]"
    with pytest.raises(SpaceError, match="--set model.families: refused YAML: aliases expand"):
        parse_space("", overrides=[f"model.families={bomb}"])


def test_a_space_that_contains_itself_is_refused():
    with pytest.raises(SpaceError, match="a space cannot contain itself"):
        parse_space("model: &m {families: [cnn], cnn: *m}\n", source="loop.yaml")


def test_a_document_nested_thousands_deep_is_one_line():
    with pytest.raises(SpaceError, match="nested too deeply"):
        parse_space("model: " + "[" * 1500 + "]" * 1500 + "\n")


def test_ordinary_anchors_and_aliases_still_load():
    text = """\
study: {name: anchors, n_trials: 2}
model:
  families: [cnn]
  cnn:
    dropout: &dropout {low: 0.1, high: 0.5}
training:
  learning_rate: &lr {low: 0.0001, high: 0.01, log: true}
  fine_tune_learning_rate: *lr
  augmentation:
    rotation: &small {low: 0.0, high: 0.1}
    zoom: *small
"""
    space = parse_space(text)
    assert space.training.learning_rate == space.training.fine_tune_learning_rate
    assert space.training.augmentation.rotation == space.training.augmentation.zoom
    assert space.model.cnn.dropout.largest() == 0.5


def test_show_never_builds_the_whole_text_of_a_shared_value():
    value: object = ["lol"] * 9
    for _ in range(12):  # 9**12 leaves, all shared: repr() would need terabytes
        value = [value] * 9
    started = time.perf_counter()
    text = show(value)
    assert time.perf_counter() - started < 0.1
    assert len(text) <= 60 and text.startswith("[[[")


def test_a_long_string_value_is_shown_as_a_short_prefix():
    with pytest.raises(SpaceError) as caught:
        parse_space("study: {name: x, n_trials: 1, sampler: '" + "z" * 100_000 + "'}\n", source="long.yaml")
    assert len(str(caught.value)) < 250, str(caught.value)


def test_a_bomb_or_malformed_value_in_evaluate_data_is_one_line_naming_the_key():
    from mammosearch.apply.evaluate import evaluation_space

    # A plain value is still read as YAML (a number stays a number).
    assert evaluation_space(None, ["source=synthetic", "n_images=48", "image_size=32"], []).data.n_images == 48
    inline_bomb = '{a: &a [x,x,x,x,x,x,x,x,x], b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], ' \
        'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c], e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]}'
    started = time.perf_counter()
    with pytest.raises(SpaceError, match=r"--data root: refused YAML: aliases expand"):
        evaluation_space(None, ["source=folder", f"root={inline_bomb}"], [])
    assert time.perf_counter() - started < 5
    with pytest.raises(SpaceError, match=r"--data root: malformed YAML"):
        evaluation_space(None, ["source=folder", "root=[unclosed"], [])
