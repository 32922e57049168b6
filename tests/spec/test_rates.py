"""The table of threshold rates (spec/rates.py) and the typed split metrics (spec/split_metrics.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mammosearch.metrics import evaluate_predictions, score_split, threshold_metric_cis, threshold_metrics
from mammosearch.spec import RATES, SENSITIVITY, SPECIFICITY, Confusion, SplitMetrics, ThresholdMetrics
from mammosearch.spec.rates import BY_KEY

# tn=5, fp=1, fn=2, tp=3 (labels and scores of test_metrics.py's hand-computed case, at 0.5).
LABELS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
SCORES = [0.1, 0.2, 0.3, 0.1, 0.4, 0.6, 0.2, 0.45, 0.7, 0.8, 0.9]
COUNTS = Confusion(tn=5, fp=1, fn=2, tp=3)


def test_the_counts_and_each_rate_of_the_table_at_a_threshold():
    at = score_split(LABELS, SCORES).at_05
    assert at is not None and at.confusion == COUNTS
    for rate in RATES:
        assert at[rate] == pytest.approx(rate.numerator(COUNTS) / rate.denominator(COUNTS)), rate.key
    assert at[SENSITIVITY] == pytest.approx(3 / 5) and at[SPECIFICITY] == pytest.approx(5 / 6)
    assert at[BY_KEY["accuracy"]] == pytest.approx(8 / 11) and at[BY_KEY["f1"]] == pytest.approx(6 / 9)
    assert at[BY_KEY["npv"]] == pytest.approx(5 / 7)  # 5 of the 7 benign calls are benign


def test_an_empty_denominator_is_zero_for_one_matrix_and_left_out_of_the_bootstrap():
    nothing_called = Confusion(tn=3, fp=0, fn=2, tp=0)
    assert BY_KEY["precision"].of(nothing_called) == 0.0
    cis = threshold_metric_cis([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.1, 0.2], ["a", "b", "c", "d", "e"], 0.9, n_boot=50)
    assert cis["precision"] is None  # no resample calls anything positive
    assert cis["specificity"] == [1.0, 1.0]


def test_the_stored_dict_carries_every_rate_under_each_of_its_keys():
    stored = threshold_metrics(LABELS, SCORES, 0.5)
    for rate in RATES:
        for key in rate.keys:
            assert stored[key] == pytest.approx(rate.of(COUNTS)), key
    assert stored["recall"] == stored["sensitivity"] and stored["confusion_matrix"] == [[5, 1], [2, 3]]
    cis = threshold_metric_cis(LABELS, SCORES, [str(i) for i in range(11)], 0.5, n_boot=100)
    assert set(cis) == {key for rate in RATES for key in rate.keys}


def test_a_rate_missing_from_a_stored_dict_is_computed_from_its_confusion_counts():
    old = {"threshold": 0.5, "recall": 0.6, "confusion_matrix": [[5, 1], [2, 3]]}
    at = ThresholdMetrics.from_record(old)
    assert at is not None
    assert at[SENSITIVITY] == 0.6  # stored (under "recall"): read as stored, never recomputed
    assert at[SPECIFICITY] == pytest.approx(5 / 6)  # not stored: from the counts
    assert SENSITIVITY.read({"sensitivity": 0.4}) == 0.4 and SENSITIVITY.read({"threshold": 0.5}) is None
    assert SENSITIVITY.read(None) is None and SENSITIVITY.read({"recall": True, "confusion_matrix": "x"}) is None


def test_split_metrics_read_and_write_the_stored_dict_unchanged():
    stored = evaluate_predictions(LABELS, SCORES)
    stored.update(auc_ci95=[0.5, 0.9], fold_aucs=[0.7, 0.8], mean_fold_auc=0.75, pooled="out-of-fold predictions of all folds",
                  written_by_a_newer_version={"x": 1})
    typed = SplitMetrics.from_record(stored)
    assert typed is not None and typed.is_cv and typed.fold_aucs == (0.7, 0.8) and typed.auc_ci95 == (0.5, 0.9)
    assert typed.extra == {"written_by_a_newer_version": {"x": 1}}  # a key it does not know is kept, not dropped
    assert typed.to_record() == stored
    assert SplitMetrics.from_record(typed.to_record()) == typed
    assert score_split(LABELS, SCORES).to_record() == evaluate_predictions(LABELS, SCORES)


def test_a_partial_or_foreign_record_reads_leniently():
    assert SplitMetrics.from_record(None) is None and SplitMetrics.from_record("0.7") is None
    partial = SplitMetrics.from_record({"auc": 0.7, "auc_ci95": "wide", "at_youden": "?", "n": "many", "collapsed": 0})
    assert partial == SplitMetrics(auc=0.7, collapsed=False)
    assert partial.near_collapsed is False and not partial.is_cv


def test_near_collapse_reads_sensitivity_and_specificity_from_the_table():
    scores = np.r_[np.linspace(0.0, 0.4, 20), np.linspace(0.3, 0.45, 20)]
    labels = np.repeat([0, 1], 20)
    given = score_split(labels, scores, threshold=0.445)  # calls almost nothing malignant (1 of 20)
    assert given.at_youden is not None and given.at_youden[SENSITIVITY] is not None
    assert given.at_youden[SENSITIVITY] < 0.1 and given.near_collapsed
    assert not score_split(labels, scores).near_collapsed


def test_every_rate_formats_and_refuses_nothing():
    for rate in RATES:
        assert rate.format(None) == "-" and rate.format(math.nan) == "-"
        assert rate.format(0.5) == f"{0.5:.{rate.digits}f}"
