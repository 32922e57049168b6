"""Patient-bootstrap intervals of the rates at a fixed threshold (every rate of ``spec/rates.py``).

The threshold is fixed (chosen on validation), so each resample only recounts the confusion
matrix: whole patients are resampled, as for the AUC (:func:`~mammosearch.metrics.auc.bootstrap_auc_ci`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mammosearch.metrics._inputs import check_inputs
from mammosearch.spec import RATES, Confusion, Rate


def _keyed(value_of: Callable[[Rate], list[float] | None]) -> dict[str, list[float] | None]:
    """Each rate's value under each of its keys (sensitivity also as recall), as the rates are stored."""
    return {key: value_of(rate) for rate in RATES for key in rate.keys}


def threshold_metric_cis(y_true: Any, y_score: Any, patient_ids: Any, threshold: float,
                         n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict[str, list[float] | None]:
    true, score = check_inputs(y_true, y_score)
    _, group_of = np.unique(np.asarray(patient_ids), return_inverse=True)
    group_of = group_of.reshape(-1)
    n_groups = int(group_of.max()) + 1 if len(group_of) else 0
    if n_groups == 0:
        return _keyed(lambda rate: None)
    predicted = score >= threshold
    # Per patient: counts of tp, fp, fn, tn; a resample is a weighted sum of them.
    cells = np.stack([predicted & (true == 1), predicted & (true == 0), ~predicted & (true == 1), ~predicted & (true == 0)], axis=1)
    per_patient = np.zeros((n_groups, 4))
    np.add.at(per_patient, group_of, cells.astype(float))
    rng = np.random.default_rng(seed)
    weights = np.stack([np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups) for _ in range(n_boot)])
    tp, fp, fn, tn = (weights @ per_patient).T
    counts = Confusion(tn=tn, fp=fp, fn=fn, tp=tp)
    # An empty denominator is NaN here (that resample says nothing about the rate) and is left out below.
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {rate.key: rate.numerator(counts) / rate.denominator(counts) for rate in RATES}
    alpha = (1.0 - level) / 2.0

    def interval(rate: Rate) -> list[float] | None:
        series = values[rate.key]
        finite = series[np.isfinite(series)]
        return None if finite.size == 0 else [float(v) for v in np.quantile(finite, [alpha, 1.0 - alpha])]

    return _keyed(interval)
