"""The HTML report's reference sections: the best trial's model-card facts and the data fingerprint.

Built from the stored StudyRecord and TrialRow (not from an exported model_card.json), so
the page can be written before anything is exported. Every lookup tolerates a missing key:
a study written by an older version, or by hand, still gets a page.
"""

from __future__ import annotations

from typing import Any

from mammosearch.metrics import evaluated_on, scored_on, selection_figures
from mammosearch.report._readable import decode_text, named_params
from mammosearch.report.html._parts import auc_ci, bullet_list, facts, fmt, paragraph, section, table
from mammosearch.spec import RATES, SplitMetrics
from mammosearch.store import StudyRecord, TrialRow, mask_url


def _split_rows(name: str, metrics: SplitMetrics | None, chosen_on: str) -> list[list[Any]]:
    """One row per operating point of one split: AUC (CI), AP, then every rate of the table."""
    if metrics is None:
        return []
    rows = []
    for at, label, threshold in ((metrics.at_youden, f"Youden (chosen on {chosen_on})", metrics.youden_threshold), (metrics.at_05, "0.5", 0.5)):
        rows.append([name, auc_ci(metrics.auc, metrics.auc_ci95), metrics.average_precision,
                     f"{label}: {fmt(threshold)}", *(None if at is None else at[rate] for rate in RATES)])
    return rows


def model_card_section(record: StudyRecord, best: TrialRow | None) -> str:
    """What export-best's model card says about the selected trial: params, metrics, data, decoding, threshold."""
    if best is None:
        return section("Best trial (model card facts)", paragraph("no completed trial yet", "muted"))
    val = best.val_metrics
    where = scored_on(val)  # "pooled out-of-fold" under cross-validation: never called validation
    summary = facts([
        ("trial", best.number),
        # Each AUC with its own interval: under CV the mean fold AUC (the objective) and the pooled one differ.
        *selection_figures(val, best.value),
        ("best epoch", best.best_epoch),
        ("family / head", f"{best.family or '?'} / {best.head or '-'}"),
        ("recommended threshold", f"{fmt(None if val is None else val.youden_threshold)} (Youden's J on {evaluated_on(val)}; default 0.5)"),
        ("output", "probability of malignancy (label 1)"),
        ("data", record.context.data_description or "-"),
        ("decode recipe", decode_text(record.context)),
        ("model file", best.model_path or best.pending_model_path or ("in the artifact store (export-best fetches it)" if best.remote_model_path else "missing from disk" if best.model_missing else "not kept")),
        ("storage", mask_url(record.storage_url)),
    ])
    metrics = table(
        ["split", "AUC (95% CI)", "AP", "threshold", *(rate.label for rate in RATES)],
        _split_rows(where, best.val_metrics, where) + _split_rows("test", best.test_metrics, where),
        text_columns=(0, 3),
    )
    # Named and rounded (readable.py): nested head/cnn/augmentation records opened, not shown as JSON.
    params = table(["hyper-parameter", "value"], named_params(best.params), text_columns=(0, 1))
    return section(
        "Best trial (model card facts)", summary, "<h3>Metrics</h3>", metrics, "<h3>Hyper-parameters</h3>", params,
        section_id="model-card",
    )


def fingerprint_section(fingerprint: dict[str, Any] | None) -> str:
    """The data fingerprint stored with the study: counts, photometry, patients, duplicates, shortcuts, sizes, warnings."""
    title = "Data fingerprint"
    if not fingerprint:
        return section(title, paragraph("no data fingerprint was recorded with this study", "muted"), section_id="fingerprint")
    parts = [paragraph(str(fingerprint.get("description", "")), "muted")]
    counts = fingerprint.get("counts") or []
    if counts:
        parts.append(table(["split", "benign", "malignant", "patients"], [[c.get("split"), c.get("benign"), c.get("malignant"), c.get("patients")] for c in counts]))
    pairs: list[tuple[str, Any]] = [("images", fingerprint.get("images"))]
    photo = fingerprint.get("photometry") or {}
    if photo:
        pairs.append(("photometry", f"policy {photo.get('policy')}: {photo.get('looks_inverted')} look inverted, {photo.get('flipped')} flipped, "
                                    f"{photo.get('tag_inverted')} MONOCHROME1 inverted by tag, {photo.get('undetermined')} undetermined"))
    who = fingerprint.get("patients") or {}
    if who:
        pairs.append(("patients", f"{who.get('patients')} (ids from {who.get('source')}); {who.get('both_classes')} with images in both classes"))
    near = fingerprint.get("near_duplicates") or {}
    if near:
        pairs.append(("near-duplicates across splits", f"{near.get('pairs')} pair(s) within pHash distance {near.get('max_distance')}"))
    sizes = fingerprint.get("sizes") or {}
    if sizes:
        pairs.append(("stored sizes", f"{_size(sizes.get('stored_min'))} to {_size(sizes.get('stored_max'))} (median {_size(sizes.get('stored_median'))}), "
                                      f"{sizes.get('upscaled')} upscaled to {sizes.get('image_size')} px"))
    parts.append(facts(pairs))
    listed = near.get("listed") or []
    if listed:
        parts.append(table(["image", "split", "near-duplicate", "split", "distance"],
                           [[p.get("a"), p.get("split_a"), p.get("b"), p.get("split_b"), p.get("distance")] for p in listed[:20]], text_columns=(0, 1, 2, 3)))
    parts.append(_shortcuts(fingerprint.get("shortcuts")))
    parts.append(bullet_list((str(w) for w in fingerprint.get("warnings") or []), "warnings"))
    return section(title, *parts, section_id="fingerprint")


def _size(pair: Any) -> str:
    return f"{pair[0]}x{pair[1]}" if isinstance(pair, list) and len(pair) == 2 else "?"


def _shortcuts(shortcut: dict[str, Any] | None) -> str:
    if not shortcut:
        return paragraph("shortcut check: not fitted (no statistic varies, or the training split lacks a class)", "muted")
    rows = []
    for kind, scores in (("acquisition + histogram", shortcut.get("scores") or {}), ("acquisition only", shortcut.get("acquisition_scores") or {})):
        for split, score in scores.items():
            rows.append([kind, split, auc_ci((score or {}).get("auc"), (score or {}).get("ci95"))])
    statistics = ", ".join(str(s) for s in shortcut.get("statistics") or [])
    # Named apart from the study's trivial baseline (the Baselines section): a quick, untuned fit on
    # the training split scored per split, to flag acquisition shortcuts, not the figure to beat.
    return "<h3>Shortcut check</h3>" + paragraph(
        f"untuned logistic regression on {statistics}, fitted on the training split; a warning sign for acquisition "
        "shortcuts, not the study's baseline (see Baselines)") + table(
        ["statistics", "split", "AUC (95% CI)"], rows, text_columns=(0, 1)
    )
