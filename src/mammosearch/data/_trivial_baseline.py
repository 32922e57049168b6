"""The study's one trivial baseline: a logistic regression on image and acquisition statistics.

One definition, used by `run` (computed once when a study is set up and recorded with it;
`report`, the run summary and the model card quote that record) and by
``benchmarks/baseline.py`` (the README's figure), so every place that says "trivial
baseline" means the same number. The statistics are the data check's (corner brightness,
intensity histogram, inverted flag, stored size and bit depth where they vary); unlike the
data check's shortcut fit (untuned, on the training split, scored per split) the baseline
is tuned by an inner cross-validation and scored on the very folds, or the validation
split, the trials are scored on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mammosearch.data.base import ImageSet
from mammosearch.data.baselines import evaluate_on_folds, study_folds
from mammosearch.data.checks import UNDETERMINED, statistics


def trivial_baseline(images: ImageSet, cv_folds: int | None, seed: int) -> dict[str, Any] | None:
    """AUC, 95% CI and fold AUCs of the baseline on the study's folds; None when no statistic varies."""
    prov = images.provenance
    groups = statistics(images.images, prov.photometry > UNDETERMINED, prov.heights, prov.widths, prov.bits)
    if not groups:
        return None
    folds = study_folds(images.labels, images.patient_ids, images.splits, cv_folds, seed)
    features = np.concatenate(list(groups.values()), axis=1)
    return evaluate_on_folds(features, images.labels, images.patient_ids, folds, f"trivial baseline ({', '.join(groups)})")
