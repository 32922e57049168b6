"""Stored values as a reader wants them: hyper-parameters as named, rounded values; the decode recipe only where it applies.

A trial's params hold nested records (``head``, ``cnn``, ``augmentation``) that a table cell
would otherwise show as raw JSON, and floats at full precision (``0.0015848931924611134``);
the HTML page and the terminal both want ``head dropout 0.3`` and ``learning rate 0.00158``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from mammosearch.store.record import StudyContext

SIGNIFICANT = 3  # log-sampled rates differ in their leading digits, not their decimals

# Names a reader knows; a key not listed is shown with its underscores as spaces.
NAMES = {
    "learning_rate": "learning rate",
    "fine_tune_learning_rate": "fine-tune learning rate",
    "fine_tune_epochs": "fine-tune epochs",
    "unfrozen_layers": "unfrozen layers",
    "class_weights": "class weights",
    "input_size": "input size (px)",
    "batch_size": "batch size",
    "weights": "backbone weights",
    "head.kind": "head",
    "head.dense_units": "head dense units",
    "head.dropout": "head dropout",
    "cnn.filters": "CNN filters (first block)",
    "cnn.kernel_size": "CNN kernel size",
    "cnn.dense_units": "CNN dense units",
    "cnn.dropout": "CNN dropout",
    "augmentation.flip": "augmentation: flip",
    "augmentation.rotation": "augmentation: rotation (share of a turn)",
    "augmentation.zoom": "augmentation: zoom",
    "augmentation.contrast": "augmentation: contrast",
}


def rounded(value: Any) -> str:
    """One value as text: floats to 3 significant digits, booleans yes/no, nothing as '-'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{SIGNIFICANT}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(rounded(v) for v in value)
    if isinstance(value, Mapping):  # only reached below the nesting flatten() opens
        return json.dumps(value, default=str)
    return str(value)


def _flatten(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key in sorted(params, key=str):
        value = params[key]
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += _flatten(value, f"{path}.")
        else:
            pairs.append((path, value))
    return pairs


def param_name(optuna_name: str) -> str:
    """A parameter as Optuna names it (``cnn_filters``, ``head_dropout``) in the reader's words."""
    for prefix in ("cnn_", "head_", "augmentation_"):
        if optuna_name.startswith(prefix):
            dotted = prefix[:-1] + "." + optuna_name[len(prefix) :]
            return NAMES.get(dotted, dotted.replace("_", " "))
    return NAMES.get(optuna_name, optuna_name.replace("_", " "))


def named_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(reader's name, rounded value)`` for every leaf of a trial's params, nested records opened.

    An absent sub-record (``cnn: None`` for a backbone, ``head: None`` for the CNN) is
    left out: it is not a setting of this trial.
    """
    return [(NAMES.get(path, path.replace("_", " ")), rounded(value)) for path, value in _flatten(params) if value is not None]


def data_source(context: StudyContext) -> str | None:
    """The study's ``data.source`` as recorded with its search space (None for a study recorded before that)."""
    raw = (context.search_space or {}).get("data.source")
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return str(raw)
    return str(value)


def decode_text(context: StudyContext) -> str:
    """The decode recipe, or why there is none: generated images were never decoded from files."""
    from mammosearch.data import source

    name = data_source(context)
    try:
        generated = name is not None and source(name).files is None
    except ValueError:  # a source this version does not know: show what was recorded
        generated = False
    if generated:
        return f"none: the {name} images were generated in memory, not decoded from files"
    return context.decode_recipe or "not recorded"
