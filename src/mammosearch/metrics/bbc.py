"""Bootstrap bias-corrected cross-validation (BBC-CV; Tsamardinos, Greasidou & Borboudakis,
Machine Learning 107, 2018): how well the configuration a search selects does on data it
was not selected on, from the pooled out-of-fold predictions of every configuration.

Picking the best of many trials by their cross-validated AUC is optimistic: the maximum of
noisy estimates. BBC-CV resamples the samples (here: whole patients) with replacement;
on each resample it selects the configuration with the best in-bag AUC and scores that
one on the out-of-bag samples. The mean of those out-of-bag AUCs is the estimate; their
percentiles its interval. Nothing is retrained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mammosearch.metrics.auc import _tie_blocks, _weighted_auc

_CHUNK_ELEMENTS = 4_000_000  # bootstrap rows x samples computed at once, per configuration


@dataclass(frozen=True)
class BbcEstimate:
    auc: float
    ci95: tuple[float, float]
    configurations: int
    resamples: int  # resamples with both classes in and out of the bag
    most_chosen: int  # index (into the configurations given) selected most often
    most_chosen_share: float


def _aucs(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC of one configuration's scores under each row of sample weights."""
    order = np.argsort(scores, kind="stable")
    start, end = _tie_blocks(scores[order])
    return _weighted_auc(labels[order].astype(np.float64), start, end, weights[:, order])


def bbc_cv(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> BbcEstimate | None:
    """``scores``: (configurations, samples) pooled out-of-fold predictions; ``groups``: patient per sample.

    Returns None with fewer than two configurations or no usable resample.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    if scores.ndim != 2 or scores.shape[1] != len(labels) or len(groups) != len(labels):
        raise ValueError(f"`scores` must be (configurations, samples) with one label and group per sample, but got {scores.shape}, {len(labels)}, {len(groups)}.")
    if scores.shape[0] < 2 or len(np.unique(labels)) < 2:
        return None
    _, group_of = np.unique(np.asarray(groups), return_inverse=True)
    group_of = group_of.reshape(-1)
    n_groups = int(group_of.max()) + 1
    rng = np.random.default_rng(seed)
    chosen_all, oob_all = [], []
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // len(labels))
    for first in range(0, n_boot, rows_per_chunk):
        rows = min(rows_per_chunk, n_boot - first)
        draws = rng.integers(0, n_groups, size=(rows, n_groups))
        offsets = (np.arange(rows) * n_groups)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=rows * n_groups).reshape(rows, n_groups).astype(np.float64)
        in_bag = counts[:, group_of]
        out_of_bag = (counts[:, group_of] == 0).astype(np.float64)
        inside = np.stack([_aucs(config, labels, in_bag) for config in scores], axis=1)  # rows x configurations
        outside = np.stack([_aucs(config, labels, out_of_bag) for config in scores], axis=1)
        usable = ~np.isnan(inside).all(axis=1) & ~np.isnan(outside[:, 0])
        # Ties go to the earlier configuration, as the study ranks ties by trial number.
        chosen = np.nanargmax(np.where(np.isnan(inside), -np.inf, inside[:, :]), axis=1)
        chosen_all.append(chosen[usable])
        oob_all.append(outside[usable, chosen[usable]])
    chosen_flat, oob = np.concatenate(chosen_all), np.concatenate(oob_all)
    if oob.size == 0:
        return None
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(oob, [alpha, 1.0 - alpha])
    most = int(np.bincount(chosen_flat, minlength=scores.shape[0]).argmax())
    return BbcEstimate(float(oob.mean()), (float(low), float(high)), int(scores.shape[0]), int(oob.size), most, float(np.mean(chosen_flat == most)))
