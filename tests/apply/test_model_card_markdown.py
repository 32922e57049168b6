"""MODEL_CARD.md shows every user-written string as text: no live HTML, links or emphasis once rendered."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from mammosearch.apply.card import model_card_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "![x](http://evil.example/x.png)",
    "<http://evil.example>",
    "*emph* __strong__ ~~gone~~ `code`",
    "a | b",
    "# heading",
    "1. listed",
    "- item\n<script>x</script>",
    "&lt;already&gt; \\*escaped\\*",
]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _card(value: str) -> dict:
    """A card whose every string that a user or a file name can set is ``value``."""
    return {
        "study": value, "trial": 3, "created": "2026-12-04T20:00:00+00:00", "intended_use": value,
        "task": {"negative": value, "positive": value},
        "model": {"family": value, "head": {"kind": value}, "fine_tune": False, "unfrozen_layers": 0, "backbone_weights": value, "parameters": 10},
        "objective": {"name": value, "value": 0.7},
        "input": {"shape": [32, 32, 1], "dtype": "float32", "value_range": value, "photometry": value, "preprocessing": value},
        "decode": value, "data": value,
        "patients": {"grouping": value, "split_seed": 0, "training_sha256_16": ["ab"]},
        "data_fingerprint": {"warnings": [value]},
        "metrics": {"validation": {"n": value, "auc": 0.7}},
        "threshold": {"recommended": 0.5, "chosen_on": value},
        "operating_points": {value: {"threshold": 0.4, "sensitivity": 0.9, "specificity": 0.5}},
        "ensemble": {"members": [{"trial": 3, "family": value, "validation_auc": 0.7}], "combination": value},
        "limitations": [value],
        "packages": {value: value},
    }


def _render(markdown: str) -> _Tags:
    # CommonMark with raw HTML allowed (as GitHub, GitLab and IDE previews render it) plus GFM tables.
    html = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(markdown)
    parsed = _Tags()
    parsed.feed(html)
    return parsed


@pytest.mark.parametrize("value", HOSTILE)
def test_every_user_string_in_model_card_md_renders_as_its_own_text(value):
    rendered = _render(model_card_markdown(_card(value)))
    allowed = {"h1", "h2", "p", "ul", "li", "strong", "code", "table", "thead", "tbody", "tr", "th", "td"}
    assert {tag for tag, _ in rendered.tags} <= allowed, rendered.tags
    assert all(not attrs for _, attrs in rendered.tags)  # no href, src, onerror, style
    assert sum(tag == "strong" for tag, _ in rendered.tags) == 2  # our own two class names, nothing else
    shown = " ".join(value.split())  # newlines are folded: a value is one line of the card
    text = "".join(rendered.text)
    assert text.count(shown) >= 20, text  # study, classes, paths, notes, warnings, ... each shown literally


def test_plain_names_stay_readable():
    markdown = model_card_markdown(_card("mini-MIAS 322 images"))
    assert "# Model card: mini-MIAS 322 images trial 3" in markdown
    assert "family `mini-MIAS 322 images`" in markdown
