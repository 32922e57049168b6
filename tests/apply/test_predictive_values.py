"""PPV and NPV at a stated prevalence: Bayes from sensitivity and specificity, as the model card states them."""

from __future__ import annotations

import numpy as np
import pytest

from mammosearch.apply.card import model_card_markdown
from mammosearch.apply.card import predictive_values as card_values
from mammosearch.data import Task
from mammosearch.metrics import SCREENING_PREVALENCES, predictive_values
from mammosearch.spec import SplitMetrics


def _counted(sensitivity: float, specificity: float, prevalence: float, n: int = 1_000_000) -> tuple[float, float]:
    """PPV and NPV counted on a population of n with these rates: the definition, not the formula."""
    sick = round(n * prevalence)
    healthy = n - sick
    tp, tn = round(sick * sensitivity), round(healthy * specificity)
    fp, fn = healthy - tn, sick - tp
    return tp / (tp + fp), tn / (tn + fn)


@pytest.mark.parametrize(("sensitivity", "specificity", "prevalence"), [(0.9, 0.8, 0.4), (0.9, 0.8, 0.005), (0.8, 0.95, 0.01), (0.5, 0.5, 0.5)])
def test_predictive_values_match_a_counted_population(sensitivity, specificity, prevalence):
    values = predictive_values(sensitivity, specificity, prevalence)
    ppv, npv = _counted(sensitivity, specificity, prevalence)
    assert values["ppv"] == pytest.approx(ppv, abs=1e-4) and values["npv"] == pytest.approx(npv, abs=1e-4)


def test_known_figures_and_edges():
    # 90% sensitive, 80% specific, 1 cancer in 200 screens: about 2 in 100 positive calls are cancers.
    assert predictive_values(0.9, 0.8, 0.005)["ppv"] == pytest.approx(0.0045 / (0.0045 + 0.199), rel=1e-9)
    assert predictive_values(0.0, 1.0, 0.3) == {"ppv": None, "npv": pytest.approx(0.7)}  # nothing called positive
    with pytest.raises(ValueError, match="prevalence"):
        predictive_values(0.9, 0.8, 1.5)


def test_the_card_states_the_studys_prevalence_and_a_screening_one_only_for_a_screening_task():
    labels = np.array([0] * 60 + [1] * 40)
    selection = (labels, np.linspace(0, 1, 100))
    val = SplitMetrics.from_record({"youden_threshold": 0.4, "at_youden": {"sensitivity": 0.8, "specificity": 0.7}})
    points = {"sensitivity_0.90": {"threshold": 0.3, "sensitivity": 0.9, "specificity": 0.5}}
    whole = card_values(Task("benign_vs_malignant", "benign", "malignant", "whole mammogram"), selection, val, points)
    assert [p["prevalence"] for p in whole["prevalences"]] == [0.4, *SCREENING_PREVALENCES]
    assert "40 of 100 images malignant" in whole["prevalences"][0]["source"]
    youden = whole["points"]["recommended (Youden)"]
    assert youden[0]["ppv"] == pytest.approx(0.64) and youden[0]["npv"] == pytest.approx(0.84)  # 0.32 / 0.50 and 0.42 / 0.50
    assert youden[1]["ppv"] == pytest.approx(0.004 / (0.004 + 0.3 * 0.995))
    crops = card_values(Task("benign_vs_malignant", "benign", "malignant", "lesion crop"), selection, val, points)
    assert [p["prevalence"] for p in crops["prevalences"]] == [0.4]  # recalled lesions are no screening population
    text = model_card_markdown({"input": {"shape": [224, 224, 3], "dtype": "float32", "data_image_size": 512, "preprocessing": "x / 255"},
                                "operating_points": points, "predictive_values": whole})
    assert "| point | PPV / NPV at 40.0% | PPV / NPV at 0.5% | PPV / NPV at 1% |" in text
    assert "| recommended (Youden) | 64.0% / 84.0% | 1.3% / 99.9% | 2.6% / 99.7% |" in text
    assert "224 x 224 pixels with 3 channels (the grey image copied into each)" in text and "resized to a 512 x 512 square" in text
