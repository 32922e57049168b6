"""Positive and negative predictive value at a stated prevalence, from sensitivity and specificity (Bayes).

Sensitivity and specificity do not depend on how common the disease is; what a reader of a
positive call wants, P(cancer | positive), does. A lesion set that is 40% malignant and a
screening population where 0.5-1% of women have cancer give the same operating point very
different PPVs, so a model card states the prevalence beside every PPV and NPV it quotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Cancers per screening examination in population breast screening programmes: about 5 to
# 10 per 1000 (e.g. the UK NHS BSP and US BCSC report about 8 per 1000 screens).
SCREENING_PREVALENCES = (0.005, 0.01)


def predictive_values(sensitivity: float, specificity: float, prevalence: float) -> dict[str, float | None]:
    """``{"ppv": ..., "npv": ...}`` at ``prevalence``; None where nothing is called positive (or negative)."""
    if not 0.0 <= prevalence <= 1.0:
        raise ValueError(f"`prevalence` must lie in [0, 1], but got ({prevalence=}).")
    true_pos = sensitivity * prevalence
    false_pos = (1.0 - specificity) * (1.0 - prevalence)
    true_neg = specificity * (1.0 - prevalence)
    false_neg = (1.0 - sensitivity) * prevalence
    ppv = true_pos / (true_pos + false_pos) if true_pos + false_pos > 0 else None
    npv = true_neg / (true_neg + false_neg) if true_neg + false_neg > 0 else None
    return {"ppv": ppv, "npv": npv}


def at_prevalences(points: dict[str, dict[str, Any]], prevalences: Sequence[float]) -> dict[str, list[dict[str, float | None]]]:
    """For each named operating point (with ``sensitivity`` and ``specificity``), its PPV and NPV at each prevalence, in order."""
    return {
        name: [predictive_values(float(p["sensitivity"]), float(p["specificity"]), prevalence) for prevalence in prevalences]
        for name, p in points.items()
        if p.get("sensitivity") is not None and p.get("specificity") is not None
    }
