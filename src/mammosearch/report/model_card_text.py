"""``MODEL_CARD.md``: the model card as a reviewer reads it (``model_card.json`` holds the same facts)."""

from __future__ import annotations

from typing import Any


def _num(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _ci(ci: Any) -> str:
    return f" (95% CI {_num(ci[0])}-{_num(ci[1])})" if isinstance(ci, list) and len(ci) == 2 else ""


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _metrics_rows(name: str, metrics: dict[str, Any] | None) -> list[str]:
    if not metrics:
        return []
    rows = [f"| {name} | {metrics.get('n', 'n/a')} | {_num(metrics.get('auc'))}{_ci(metrics.get('auc_ci95'))} |"]
    at = metrics.get("at_youden") or {}
    rows[0] += f" {_num(at.get('sensitivity'))} | {_num(at.get('specificity'))} | {_num(at.get('f1'))} | {_num(metrics.get('youden_threshold'))} |"
    return rows


def model_card_markdown(card: dict[str, Any]) -> str:
    task = card.get("task", {})
    model = card.get("model", {})
    inputs = card.get("input", {})
    lines = [
        f"# Model card: {card.get('study')} trial {card.get('trial')}",
        "",
        f"Created {card.get('created')} by mammosearch {card.get('packages', {}).get('mammosearch', '')}.",
        "",
        "## Intended use",
        "",
        str(card.get("intended_use", "")),
        "",
        f"Classes: 0 = **{task.get('negative', 'benign')}**, 1 = **{task.get('positive', 'malignant')}**; the model outputs the probability of class 1.",
        "",
        "## Model",
        "",
        f"- family `{model.get('family')}`, head `{(model.get('head') or {}).get('kind') if isinstance(model.get('head'), dict) else model.get('head')}`, "
        f"fine-tuned: {model.get('fine_tune')} (top {model.get('unfrozen_layers')} layers), backbone weights `{model.get('backbone_weights')}`, "
        f"{model.get('parameters')} parameters",
        f"- chosen by {card.get('objective', {}).get('name')} = {_num(card.get('objective', {}).get('value'))}",
    ]
    if card.get("ensemble"):
        members = ", ".join(f"trial {m['trial']} ({m.get('family')}, AUC {_num(m.get('validation_auc'))})" for m in card["ensemble"]["members"])
        lines.append(f"- ensemble: {card['ensemble']['combination']} of {members}")
    lines += [
        "",
        "## Input: exactly what the model expects",
        "",
        f"- shape {inputs.get('shape')}, {inputs.get('dtype')}, {inputs.get('value_range')}",
        f"- decode: {card.get('decode')}",
        f"- photometry: `{inputs.get('photometry')}` (auto: an image that looks inverted, bright background, is flipped first)",
        f"- {inputs.get('preprocessing')}",
        "- `mammosearch predict` applies all of this; feeding the model by hand with another loader shifts the scores.",
        "",
        "## Data and patients",
        "",
        f"- {card.get('data')}",
        f"- patient grouping: `{card.get('patients', {}).get('grouping')}`, split seed {card.get('patients', {}).get('split_seed')}, "
        f"{len(card.get('patients', {}).get('training_sha256_16') or [])} patients behind training and selection (hashed in model_card.json)",
    ]
    warnings = (card.get("data_fingerprint") or {}).get("warnings") or []
    lines += [f"- data check warning: {w}" for w in warnings] or ["- data checks: no warning"]
    lines += ["", "## Performance", "", "| split | images | AUC | sensitivity | specificity | F1 | threshold |", "|---|---|---|---|---|---|---|"]
    metrics = card.get("metrics", {})
    lines += _metrics_rows("validation (selected on)", metrics.get("validation"))
    lines += _metrics_rows("test (honest)", metrics.get("test"))
    estimates = card.get("estimates") or {}
    if estimates.get("bbc_cv"):
        bbc = estimates["bbc_cv"]
        lines += ["", f"Estimate that survives selection (BBC-CV over {bbc['trials']} trials): AUC {_num(bbc['auc'])}{_ci(bbc['ci95'])}."]
    if estimates.get("honest_test"):
        lines += ["", f"Honest figure: the selected trial's test AUC {_num(estimates['honest_test']['auc'])}{_ci(estimates['honest_test'].get('ci95'))}."]
    threshold = card.get("threshold", {})
    lines += ["", "## Operating points", "", f"Recommended threshold {_num(threshold.get('recommended'), 4)}, chosen on the {threshold.get('chosen_on')}.", ""]
    points = card.get("operating_points") or {}
    if points:
        lines += ["| point | threshold | sensitivity | specificity |", "|---|---|---|---|"]
        lines += [f"| `{name}` | {_num(p['threshold'], 4)} | {_num(p['sensitivity'])} | {_num(p['specificity'])} |" for name, p in points.items()]
        lines += ["", "Measured on the same predictions the threshold was chosen on; `predict --sensitivity 0.90` uses them."]
    lines += ["", "## Known limitations", ""] + [f"- {_cell(note)}" for note in card.get("limitations", [])]
    versions = ", ".join(f"{k} {v}" for k, v in (card.get("packages") or {}).items())
    lines += ["", "## Software", "", versions, ""]
    return "\n".join(lines)
