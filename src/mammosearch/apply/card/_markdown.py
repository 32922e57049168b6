"""``MODEL_CARD.md``: the model card as a reviewer reads it (``model_card.json`` holds the same facts).

Every value interpolated into the Markdown goes through :func:`_md` (running text) or
:func:`_code` (a code span): study and class names, paths, data descriptions, notes and
check warnings are written by users or come from file names, and a Markdown renderer
(GitHub, GitLab, an IDE preview) turns raw ``<script>``, ``<img onerror=...>``,
``[link](...)`` or ``*emphasis*`` into live HTML. The HTML report escapes the same way
(``html_parts.text``).
"""

from __future__ import annotations

import html
import re
from typing import Any

from mammosearch.data.decode import Framing
from mammosearch.spec import RATES, ImageSize, SplitMetrics
from mammosearch.words import plural

# Inline Markdown syntax (CommonMark + GFM: emphasis, code, links and images, tables,
# strikethrough), backslash-escaped wherever it appears; <, > and & become entities instead,
# which also disarms autolinks and raw HTML. "_" only where it can open or close emphasis: an
# underscore between two letters or digits never does (``sensitivity_0.90`` stays readable).
_INLINE = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# Syntax that only means something at the start of a line, and only in these shapes: a heading
# or list marker followed by a space or the end, a quote, a setext underline or thematic break
# (a line of "-" or "="), "1." / "1)" then a space (a version such as 0.1.0 is no list).
_LINE_START = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|[+\-](?=\s|$)|>|[-=][-=\s]*$|\d{1,9}(?=[.)](?:\s|$)))")


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _ci(ci: Any) -> str:
    return f" (95% CI {_num(ci[0])}-{_num(ci[1])})" if isinstance(ci, list) and len(ci) == 2 else ""


def _md(value: Any) -> str:
    """``value`` as literal Markdown text: one line, no markup, no HTML."""
    text = " ".join(str(value).split())  # a newline could open a block (heading, list, HTML)
    text = _INLINE.sub(r"\\\1", text)
    text = html.escape(text, quote=False)  # after the backslashes: an entity's & and ; stay intact
    # "1." / "1)" is escaped on its punctuation (the digits stay digits), "#", "-", ... on themselves.
    return _LINE_START.sub(lambda m: m[0] + "\\" if m[2][0].isdigit() else m[1] + "\\" + m[2], text)


def _code(value: Any) -> str:
    """``value`` as a code span: fenced by more backticks than it holds, so it cannot close the span early."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _performance_header() -> list[str]:
    """The Performance table's header: every rate of the table (spec/rates.py) at the recommended threshold."""
    titles = ["split", "images", "AUC", *(rate.label for rate in RATES), "threshold"]
    return ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]


def _metrics_rows(name: str, stored: dict[str, Any] | None) -> list[str]:
    metrics = SplitMetrics.from_record(stored) if stored else None
    if metrics is None:
        return []
    at = metrics.at_youden
    rates = " | ".join(_num(None if at is None else at[rate], rate.digits) for rate in RATES)
    images = "n/a" if metrics.n is None else metrics.n
    auc_ci = None if metrics.auc_ci95 is None else list(metrics.auc_ci95)
    return [f"| {name} | {_md(images)} | {_num(metrics.auc)}{_ci(auc_ci)} | {rates} | {_num(metrics.youden_threshold)} |"]


def _input_words(inputs: dict[str, Any]) -> list[str]:
    """The input contract as sentences: size, channels, value range, what the model does itself, the resize before it."""
    shape = inputs.get("shape")
    if not (isinstance(shape, list) and len(shape) == 3):
        return [f"- shape {_md(shape)}, {_md(inputs.get('dtype'))}, {_md(inputs.get('value_range'))}"]
    height, width, channels = shape
    grey = "one channel (grey levels)" if channels == 1 else f"{_md(channels)} channels (the grey image copied into each)" if channels == 3 else f"{_md(channels)} channels"
    lines = [
        f"- One image at a time, {_md(height)} x {_md(width)} pixels with {grey}, as {_md(inputs.get('dtype', 'float32'))} numbers.",
        "- Pixel values are the raw 8-bit grey levels, 0 (black) to 255 (white): do not scale them to 0-1 or normalise them; "
        "the model does its own preprocessing (below).",
    ]
    framing = Framing.from_json(inputs.get("framing"))
    if framing.active:
        lines.append(f"- Each file is first {framing.describe()}, as in training.")
    if inputs.get("data_image_size"):
        size = ImageSize.of(inputs["data_image_size"])
        kept = ("keeping the " + ("cropped breast's " if framing.crop else "") + "aspect ratio (padded black at the right and bottom)"
                if framing.crop or not size.is_square else "the aspect ratio is not kept")
        shape = f"a {_md(size.height)} x {_md(size.width)} " + ("square" if size.is_square else "rectangle (height x width)")
        then = "the aspect ratio kept and padded" if height != width else "stretched"
        last = "." if (height, width) == size.shape else f" ({then})."
        lines.append(f"- A file is {'then' if framing.active else 'first'} resized to {shape}, as in training, {kept}; then to {_md(height)} x {_md(width)}{last}")
    return lines


def _pv(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, float) else "n/a"


def _prevalence(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return "?"
    return f"{value:.1%}" if value >= 0.1 else f"{value * 100:.3g}%"  # 0.5%, 1%, 37.5%


def _predictive_lines(predictive: dict[str, Any]) -> list[str]:
    """PPV / NPV per operating point, one column per stated prevalence (Bayes from sensitivity and specificity)."""
    prevalences = predictive.get("prevalences") or []
    points = predictive.get("points") or {}
    if not prevalences or not points:
        return []
    lines = ["", "What a call means depends on how common the disease is. PPV = share of positive calls that are "
             "positive, NPV = share of negative calls that are negative, at a stated prevalence:", ""]
    lines += [f"- {_prevalence(p.get('prevalence'))}: {_md(p.get('source'))}" for p in prevalences]
    lines += ["", "| point | " + " | ".join(f"PPV / NPV at {_prevalence(p.get('prevalence'))}" for p in prevalences) + " |",
              "|---|" + "---|" * len(prevalences)]
    for name, values in points.items():
        lines.append(f"| {_md(name)} | " + " | ".join(f"{_pv(v.get('ppv'))} / {_pv(v.get('npv'))}" for v in values) + " |")
    return lines


def _recipe(recipe: Any) -> str:
    """The decode recipe without its own leading "decode:" (the line already says it)."""
    text = str(recipe or "not recorded").strip()
    return text.split(":", 1)[1].strip() if text.lower().startswith("decode:") else text


PHOTOMETRY_MEANING = {
    "auto": "an image that looks inverted (bright background) is flipped first, in training and in `predict`",
    "as_is": "images are used as decoded, never flipped",
}


def _photometry(inputs: dict[str, Any]) -> str:
    """The policy predict applies, what it means, and what the study asked for when that differs."""
    policy, asked = inputs.get("photometry"), inputs.get("photometry_requested")
    meaning = PHOTOMETRY_MEANING.get(str(policy), "")
    line = _code(policy) + (f" ({meaning})" if meaning else "")
    if asked:
        line += (f"; the study asked for {_code(asked)}, but its images were generated, not decoded from files, "
                 "so nothing was checked or flipped and `predict` flips nothing either")
    return line


def _head_kind(head: Any) -> Any:
    return head.get("kind") if isinstance(head, dict) else head


def model_card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown; every value from the card is escaped (:func:`_md`, :func:`_code`), only our own words are markup."""
    task = card.get("task") or {}
    model = card.get("model") or {}
    inputs = card.get("input") or {}
    objective = card.get("objective") or {}
    patients = card.get("patients") or {}
    lines = [
        f"# Model card: {_md(card.get('study'))} trial {_md(card.get('trial'))}",
        "",
        f"Created {_md(card.get('created'))} by mammosearch {_md((card.get('packages') or {}).get('mammosearch', ''))}.",
        "",
        "## Intended use",
        "",
        _md(card.get("intended_use", "")),
        "",
        f"Classes: 0 = **{_md(task.get('negative', 'benign'))}**, 1 = **{_md(task.get('positive', 'malignant'))}**; the model outputs the probability of class 1.",
        "",
        "## Model",
        "",
        f"- family {_code(model.get('family'))}, head {_code(_head_kind(model.get('head')))}, "
        f"fine-tuned: {_md(model.get('fine_tune'))} (top {_md(model.get('unfrozen_layers'))} layers), backbone weights {_code(model.get('backbone_weights'))}, "
        f"{_md(model.get('parameters'))} parameters",
        f"- chosen by {_md(objective.get('name'))} = {_num(objective.get('value'))}",
    ]
    if card.get("exported"):
        lines.append(f"- exported: {_md(card['exported'])}")
    if card.get("ensemble"):
        members = ", ".join(f"trial {_md(m.get('trial'))}{_fold(m)} ({_md(m.get('family'))}, AUC {_num(m.get('validation_auc'))})" for m in card["ensemble"]["members"])
        lines.append(f"- ensemble: {_md(card['ensemble'].get('combination'))} of {members}")
    lines += [
        "",
        "## Input: exactly what the model expects",
        "",
        *_input_words(inputs),
        f"- decode: {_md(_recipe(card.get('decode')))}",
        f"- photometry: {_photometry(inputs)}",
        f"- {_md(inputs.get('preprocessing'))}",
        "- `mammosearch predict` applies all of this; feeding the model by hand with another loader shifts the scores.",
        "",
        "## Data and patients",
        "",
        f"- {_md(card.get('data'))}",
        f"- patient grouping: {_code(patients.get('grouping'))}, split seed {_md(patients.get('split_seed'))}, "
        f"{len(patients.get('training_sha256_16') or [])} patients behind training and selection (hashed in model_card.json)",
    ]
    warnings = (card.get("data_fingerprint") or {}).get("warnings") or []
    lines += [f"- data check warning: {_md(w)}" for w in warnings] or ["- data checks: no warning"]
    lines += ["", "## Performance", "", *_performance_header()]
    metrics = card.get("metrics") or {}
    selected = metrics.get("validation") or {}
    # Under cross-validation these are the pooled out-of-fold predictions, not a validation split.
    lines += _metrics_rows("pooled out-of-fold (selected on)" if selected.get("fold_aucs") else "validation (selected on)", selected)
    lines += _metrics_rows("test (honest)", metrics.get("test"))
    estimates = card.get("estimates") or {}
    if estimates.get("bbc_cv"):
        bbc = estimates["bbc_cv"]
        lines += ["", f"Estimate that survives selection (BBC-CV over {_md(plural(int(bbc['trials']), 'complete trial') if isinstance(bbc.get('trials'), int) else bbc.get('trials'))}): AUC {_num(bbc.get('auc'))}{_ci(bbc.get('ci95'))}."]
    if estimates.get("honest_test"):
        lines += ["", f"Honest figure: the selected trial's test AUC {_num(estimates['honest_test'].get('auc'))}{_ci(estimates['honest_test'].get('ci95'))}."]
    baseline = card.get("baseline") or {}
    if baseline.get("verdict"):
        lines += ["", f"Against the study's trivial baseline: {_md(baseline['verdict'])}."]
    threshold = card.get("threshold") or {}
    lines += ["", "## Operating points", "", f"Recommended threshold {_num(threshold.get('recommended'), 4)}, chosen on the {_md(threshold.get('chosen_on'))}.", ""]
    points = card.get("operating_points") or {}
    if points:
        lines += ["| point | threshold | sensitivity | specificity |", "|---|---|---|---|"]
        lines += [f"| {_md(name)} | {_num(p.get('threshold'), 4)} | {_num(p.get('sensitivity'))} | {_num(p.get('specificity'))} |" for name, p in points.items()]
        lines += ["", "Measured on the same predictions the threshold was chosen on; `predict --sensitivity 0.90` uses them."]
    lines += _predictive_lines(card.get("predictive_values") or {})
    lines += ["", "## Known limitations", ""] + [f"- {_md(note)}" for note in card.get("limitations", [])]
    versions = ", ".join(f"{_md(k)} {_md(v)}" for k, v in (card.get("packages") or {}).items())
    lines += ["", "## Software", "", versions, ""]
    return "\n".join(lines)


def _fold(member: dict[str, Any]) -> str:
    return "" if member.get("fold") is None else f" fold {_md(member['fold'])}"
