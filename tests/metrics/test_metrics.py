from __future__ import annotations

import json
import time

import numpy as np
import pytest
from sklearn.metrics import auc, average_precision_score, roc_auc_score

from mammosearch.metrics import (
    auc_from_ranks,
    bootstrap_auc_ci,
    evaluate_predictions,
    is_collapsed,
    roc_points,
    threshold_metrics,
    youden_threshold,
)


def _noisy(n: int, seed: int, separation: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    logits = separation * (2 * y - 1) + rng.normal(size=n)
    return y, 1 / (1 + np.exp(-logits))


# --- threshold_metrics -------------------------------------------------------------------


def test_threshold_metrics_hand_computed() -> None:
    y = [0, 0, 0, 1, 1, 1, 1, 0]
    s = [0.1, 0.6, 0.4, 0.7, 0.3, 0.9, 0.5, 0.2]
    # >= 0.5: pred = 0 1 0 1 0 1 1 0 -> tn=3 (0.1, 0.4, 0.2), fp=1 (0.6), fn=1 (0.3), tp=3
    m = threshold_metrics(y, s, 0.5)
    assert m["confusion_matrix"] == [[3, 1], [1, 3]]
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == m["sensitivity"] == pytest.approx(3 / 4)
    assert m["specificity"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(3 / 4)
    assert m["threshold"] == 0.5


def test_threshold_is_inclusive_and_asymmetric_case() -> None:
    m = threshold_metrics([0, 1, 1], [0.3, 0.3, 0.8], 0.3)
    assert m["confusion_matrix"] == [[0, 1], [0, 2]]
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == 1.0
    assert m["specificity"] == 0.0
    assert m["f1"] == pytest.approx(0.8)


def test_threshold_metrics_zero_division_is_zero_and_json_safe() -> None:
    m = threshold_metrics([0, 0, 1], [0.1, 0.2, 0.3], 0.9)  # nothing predicted positive
    assert m["confusion_matrix"] == [[2, 0], [1, 0]]
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0
    assert m["specificity"] == 1.0
    json.dumps(m)
    assert all(type(v) is int for row in m["confusion_matrix"] for v in row)
    assert all(type(m[k]) is float for k in ("accuracy", "precision", "specificity", "f1"))


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 1, 1], [0.2, 0.4], r"same length, but got \(len_a=3, len_b=2\)"),
        ([0, 2], [0.2, 0.4], "only 0 and 1"),
        ([0, 1], [0.2, np.nan], "finite"),
        ([], [], "empty"),
        ([[0, 1]], [[0.1, 0.2]], "1-D"),
    ],
)
def test_invalid_inputs(y: list, s: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        threshold_metrics(y, s, 0.5)


def test_invalid_threshold() -> None:
    with pytest.raises(ValueError, match="threshold"):
        threshold_metrics([0, 1], [0.1, 0.9], float("nan"))


# --- Youden, ROC, AUC ---------------------------------------------------------------------


def test_youden_known_answer_and_finite() -> None:
    # Best split: >= 0.6 catches all 3 positives and 0 of 4 negatives (J = 1).
    y = [0, 0, 0, 0, 1, 1, 1]
    s = [0.1, 0.2, 0.5, 0.55, 0.6, 0.7, 0.95]
    assert youden_threshold(y, s) == pytest.approx(0.6)
    # Overlapping classes: thresholds 0.8 (sens 2/4, spec 4/4), 0.45 (3/4, 3/4) and 0.4 (4/4,
    # 2/4) all reach J = 0.5; the tie goes to the highest threshold (fewest false positives).
    y2 = [0, 0, 0, 0, 1, 1, 1, 1]
    s2 = [0.1, 0.2, 0.4, 0.5, 0.4, 0.45, 0.8, 0.9]
    t = youden_threshold(y2, s2)
    assert t == pytest.approx(0.8)
    m = threshold_metrics(y2, s2, t)
    assert m["sensitivity"] + m["specificity"] - 1 == pytest.approx(0.5)


def test_youden_single_class_and_constant_scores() -> None:
    assert youden_threshold([1, 1, 1], [0.2, 0.3, 0.4]) == 0.5
    assert youden_threshold([0, 1, 0, 1], [0.3] * 4) == pytest.approx(0.3)


def test_auc_from_ranks_matches_sklearn_with_ties() -> None:
    y, s = _noisy(300, seed=3)
    s = np.round(s, 1)  # many ties
    assert auc_from_ranks(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert auc_from_ranks([1, 1], [0.1, 0.2]) is None


def test_roc_points_endpoints_and_downsampling() -> None:
    y, s = _noisy(2000, seed=4, separation=0.5)
    full = roc_points(y, s, max_points=100_000)
    small = roc_points(y, s, max_points=50)
    assert len(full["fpr"]) > 50
    assert len(small["fpr"]) == len(small["tpr"]) <= 50
    assert (small["fpr"][0], small["tpr"][0]) == (0.0, 0.0)
    assert (small["fpr"][-1], small["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(small["fpr"]) >= 0) and np.all(np.diff(small["tpr"]) >= 0)
    # Shape kept: trapezoid area of the small curve is close to the AUC.
    assert auc(small["fpr"], small["tpr"]) == pytest.approx(roc_auc_score(y, s), abs=0.02)
    with pytest.raises(ValueError, match="max_points"):
        roc_points(y, s, max_points=1)


# --- evaluate_predictions -----------------------------------------------------------------


def test_evaluate_matches_sklearn_and_is_json() -> None:
    y, s = _noisy(200, seed=5)
    ev = evaluate_predictions(y, s)
    assert ev["n"] == 200 and ev["n_positive"] == int(y.sum())
    assert ev["auc"] == pytest.approx(roc_auc_score(y, s))
    assert ev["average_precision"] == pytest.approx(average_precision_score(y, s))
    assert ev["youden_threshold"] == pytest.approx(youden_threshold(y, s))
    assert ev["threshold_source"] == "youden"
    assert ev["at_youden"] == threshold_metrics(y, s, ev["youden_threshold"])
    assert ev["at_0.5"]["threshold"] == 0.5
    assert ev["collapsed"] is False
    assert json.loads(json.dumps(ev)) == ev


def test_evaluate_uses_given_threshold() -> None:
    y, s = _noisy(100, seed=6)
    ev = evaluate_predictions(y, s, threshold=0.123)
    assert ev["youden_threshold"] == 0.123
    assert ev["threshold_source"] == "given"
    assert ev["at_youden"]["threshold"] == 0.123
    assert ev["at_youden"] == threshold_metrics(y, s, 0.123)


def test_evaluate_single_class() -> None:
    ev = evaluate_predictions([0, 0, 0], [0.2, 0.7, 0.4])
    assert ev["auc"] is None and ev["average_precision"] is None
    assert ev["roc"] == {"fpr": [], "tpr": []}
    assert ev["at_0.5"]["confusion_matrix"] == [[2, 1], [0, 0]]
    assert ev["youden_threshold"] == 0.5
    assert "NaN" not in json.dumps(ev)


@pytest.mark.parametrize(
    ("scores", "collapsed"),
    [
        ([0.1, 0.2, 0.3, 0.4], True),  # all below 0.5: predicts benign only
        ([0.6, 0.7, 0.8, 0.99], True),  # all above
        ([0.5, 0.5, 0.5, 0.5], True),  # constant
        ([0.5, 0.5 + 1e-9, 0.5 - 1e-9, 0.5], True),  # straddles 0.5 but negligible spread
        ([0.2, 0.8, 0.3, 0.6], False),
    ],
)
def test_collapsed(scores: list[float], collapsed: bool) -> None:
    assert is_collapsed(scores) is collapsed
    assert evaluate_predictions([0, 1, 0, 1], scores)["collapsed"] is collapsed


# --- bootstrap ----------------------------------------------------------------------------


def test_bootstrap_contains_point_auc_and_is_deterministic() -> None:
    y, s = _noisy(300, seed=7)
    ci = bootstrap_auc_ci(y, s, seed=1)
    assert ci is not None
    low, high = ci
    assert low < roc_auc_score(y, s) < high
    assert bootstrap_auc_ci(y, s, seed=1) == ci
    assert bootstrap_auc_ci(y, s, seed=2) != ci
    assert all(type(v) is float for v in ci)


def test_bootstrap_narrows_with_more_data() -> None:
    widths = []
    for n in (60, 600):
        y, s = _noisy(n, seed=8)
        low, high = bootstrap_auc_ci(y, s, n_boot=500)
        widths.append(high - low)
    assert widths[1] < widths[0] / 2


def test_bootstrap_patient_groups_widen_duplicated_images() -> None:
    y, s = _noisy(80, seed=9)
    # Each woman contributes 4 near-identical images: image resampling sees 320 "independent"
    # samples and is over-confident; patient resampling sees 80.
    y4, s4 = np.repeat(y, 4), np.repeat(s, 4)
    patients = np.repeat([f"P{i:03d}" for i in range(80)], 4)
    lo_i, hi_i = bootstrap_auc_ci(y4, s4, n_boot=500)
    lo_p, hi_p = bootstrap_auc_ci(y4, s4, groups=patients, n_boot=500)
    assert (hi_p - lo_p) > 1.5 * (hi_i - lo_i)
    # Patient resampling of the duplicated set ~ image resampling of the original set.
    lo_o, hi_o = bootstrap_auc_ci(y, s, n_boot=500)
    assert (hi_p - lo_p) == pytest.approx(hi_o - lo_o, rel=0.3)


def test_bootstrap_impossible_and_invalid() -> None:
    assert bootstrap_auc_ci([1, 1, 1], [0.1, 0.2, 0.3]) is None
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_auc_ci([0, 1], [0.1, 0.2], n_boot=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_auc_ci([0, 1], [0.1, 0.2], level=1.0)
    with pytest.raises(ValueError, match="groups"):
        bootstrap_auc_ci([0, 1], [0.1, 0.2], groups=np.array([1, 2, 3]))


def test_bootstrap_skips_single_class_resamples() -> None:
    # 1 positive in 20: many resamples miss it; the CI must still be finite and in [0, 1].
    y = np.zeros(20, dtype=int)
    y[3] = 1
    s = np.linspace(0, 1, 20)
    low, high = bootstrap_auc_ci(y, s, n_boot=200)
    assert 0.0 <= low <= high <= 1.0


def test_bootstrap_is_fast() -> None:
    y, s = _noisy(500, seed=10)
    start = time.perf_counter()
    bootstrap_auc_ci(y, s, n_boot=1000)
    bootstrap_auc_ci(y, s, groups=np.arange(500) // 2, n_boot=1000)
    assert time.perf_counter() - start < 2.0
