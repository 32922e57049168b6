"""Building blocks of the HTML report: escaping, number formatting, tables, inline images, CSS.

Every piece of text goes through :func:`esc` here (study names, paths, fail reasons and data
descriptions come from users and files and may hold ``<script>``), so the page assemblers
in _page.py and _facts.py pass plain text and never build markup from it by hand.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1d232a; background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { margin-top: 2rem; border-bottom: 2px solid #d0d7de; padding-bottom: 0.2rem; }
h3 { margin-bottom: 0.3rem; }
.muted { color: #57606a; } .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: right; vertical-align: top; }
th { background: #eef2f6; } td.text, th.text { text-align: left; }
tr.best td { background: #e6f4ea; font-weight: 600; } tr.flagged td { background: #fff4e5; }
.scroll { overflow-x: auto; }
#leaderboard { font-size: 0.8rem; } #leaderboard th, #leaderboard td { padding: 0.2rem 0.3rem; } #leaderboard td:not(.text) { white-space: nowrap; }
ul.warnings { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.6rem 0.6rem 0.6rem 2rem; }
ul.failures { background: #ffebe9; border: 1px solid #cf222e; padding: 0.6rem 0.6rem 0.6rem 2rem; }
p.note { background: #fff8c5; border-left: 4px solid #d4a72c; padding: 0.4rem 0.6rem; }
figure { display: inline-block; margin: 0.5rem 1rem 1rem 0; vertical-align: top; }
figure img { max-width: 560px; border: 1px solid #d0d7de; } figcaption { font-size: 0.85rem; color: #57606a; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; } dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
p.note + p.muted { margin-top: 0; }
@media print { body { max-width: none; margin: 0; font-size: 0.8rem; } .scroll { overflow: visible; } table { font-size: 0.72rem; }
               th, td { padding: 0.15rem 0.3rem; } figure img { max-width: 100%; } tr, figure { break-inside: avoid; } }
"""


def esc(value: object) -> str:
    """Text as HTML: ``<``, ``>``, ``&`` and both quotes escaped, so no user string becomes markup."""
    return html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value: Any, digits: int = 3) -> str:
    """A cell's plain text: '-' for nothing, yes/no, whole numbers as integers, small floats in e-notation."""
    if is_missing(value):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars from a DataFrame
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.{digits}f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def rate(value: Any) -> str:
    """A learning rate in 3 significant digits, small ones as ``3.98e-4`` (narrower than ``0.000398``, same digits)."""
    if is_missing(value):
        return "-"
    number = float(value)
    if number == 0 or abs(number) >= 1e-3:
        return f"{number:.3g}"
    mantissa, exponent = f"{number:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def auc_ci(auc: Any, ci: Sequence[Any] | None) -> str:
    if is_missing(auc):
        return "-"
    interval = f" ({float(ci[0]):.3f}-{float(ci[1]):.3f})" if ci and not is_missing(ci[0]) and not is_missing(ci[1]) else ""
    return f"{float(auc):.3f}{interval}"


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    table_id: str | None = None,
    text_columns: Sequence[int] = (0,),
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table of plain-text cells (each formatted with :func:`fmt` and escaped)."""
    head = "".join(f'<th class="{"text" if i in text_columns else ""}">{esc(h)}</th>' for i, h in enumerate(headers))
    body = []
    for n, row in enumerate(rows):
        css = row_classes[n] if row_classes is not None and n < len(row_classes) else ""
        cells = "".join(f'<td class="{"text" if i in text_columns else ""}">{esc(fmt(cell))}</td>' for i, cell in enumerate(row))
        body.append(f'<tr class="{esc(css)}">{cells}</tr>')
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def facts(pairs: Iterable[tuple[str, Any]]) -> str:
    """A definition list of (label, value) pairs, values formatted with :func:`fmt`."""
    items = "".join(f"<dt>{esc(label)}</dt><dd>{esc(fmt(value))}</dd>" for label, value in pairs)
    return f'<dl class="facts">{items}</dl>'


def bullet_list(items: Iterable[str], css: str) -> str:
    lines = [f"<li>{esc(item)}</li>" for item in items]
    return f'<ul class="{esc(css)}">{"".join(lines)}</ul>' if lines else ""


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{esc(css)}">{esc(text)}</p>'


def section(title: str, *parts: str, section_id: str | None = None) -> str:
    body = "".join(part for part in parts if part)
    if not body:
        return ""
    ident = f' id="{esc(section_id)}"' if section_id else ""
    return f"<section{ident}><h2>{esc(title)}</h2>{body}</section>"


def inline_png(path: Path, caption: str) -> str:
    """A figure whose image is the PNG itself as a base64 data URI: the page needs no other file."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}"><figcaption>{esc(caption)}</figcaption></figure>'


def page(title: str, body: str) -> str:
    # A restrictive Content-Security-Policy: even if some text escaped our escaping, the
    # browser would run no script and fetch nothing (images only from data: URIs).
    policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{body}</body></html>\n"
    )
