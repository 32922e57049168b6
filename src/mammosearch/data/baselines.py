"""Simple models evaluated exactly like the search: on the same folds (or validation split), same AUC and CI.

A search that does not beat a logistic regression on image statistics (the trivial
baseline) or on a frozen backbone's pooled features (the linear probe) has found nothing
a reader should use; the report shows both beside the best trial. The regularisation is
chosen by an inner cross-validation on each training fold, so the baselines are as good as
a logistic regression can be made without looking at the validation fold.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from mammosearch.data.folds import Fold
from mammosearch.metrics import evaluate_predictions, patient_auc_ci

# Regularisation strengths tried by the inner cross-validation: with hundreds of features
# (a backbone's channels) and a hundred images, an untuned logistic regression overfits and
# would make a baseline look worse than it is.
C_GRID = np.logspace(-4, 2, 7)
INNER_FOLDS = 3


def fit_predict(train_x: np.ndarray, train_y: np.ndarray, x: np.ndarray, tune: bool = True) -> np.ndarray:
    """Standardise, fit a class-balanced logistic regression, return P(malignant) for ``x``.

    ``tune``: choose the regularisation by an inner CV on the training rows (the baselines);
    without it the default strength (the fingerprint's quick shortcut check).
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if tune:
        folds = int(min(INNER_FOLDS, np.bincount(train_y.astype(int)).min()))
        estimator: Any = LogisticRegressionCV(Cs=C_GRID, cv=max(2, folds), scoring="roc_auc", max_iter=2000, class_weight="balanced")
    else:
        estimator = LogisticRegression(max_iter=1000, class_weight="balanced")
    model = make_pipeline(StandardScaler(), estimator)
    with warnings.catch_warnings():
        # scikit-learn 1.8 announces changes to LogisticRegressionCV's defaults and attributes;
        # neither touches what is used here (an L2 fit and predict_proba).
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(train_x, train_y)
    return np.asarray(model.predict_proba(x)[:, 1])


def evaluate_on_folds(features: np.ndarray, labels: np.ndarray, patient_ids: np.ndarray, folds: list[Fold], name: str) -> dict[str, Any] | None:
    """Pooled out-of-fold (or validation) AUC with its patient-bootstrap CI, and the fold AUCs."""
    scores = np.full(len(labels), np.nan)
    fold_aucs = []
    for fold in folds:
        if len(np.unique(labels[fold.train])) < 2 or len(np.unique(labels[fold.val])) < 2:
            return None
        scores[fold.val] = fit_predict(features[fold.train], labels[fold.train], features[fold.val])
        fold_aucs.append(float(evaluate_predictions(labels[fold.val], scores[fold.val])["auc"]))
    scored = np.isfinite(scores)
    return {
        "name": name,
        "auc": float(evaluate_predictions(labels[scored], scores[scored])["auc"]),
        "ci95": patient_auc_ci(labels[scored], scores[scored], patient_ids[scored]),
        "fold_aucs": fold_aucs,
        "evaluated_on": evaluated_on(len(folds) if len(folds) > 1 else None),
    }


def evaluated_on(cv_folds: int | None) -> str:
    """What a baseline (and every trial's selection metrics) is scored on."""
    return "pooled out-of-fold predictions" if cv_folds else "the validation split"


def study_folds(labels: np.ndarray, patient_ids: np.ndarray, splits: np.ndarray, cv_folds: int | None, seed: int) -> list[Fold]:
    """The folds every trial of the study uses."""
    from mammosearch.data.folds import cross_validation_folds, holdout_fold

    return cross_validation_folds(labels, patient_ids, splits, cv_folds, seed) if cv_folds else [holdout_fold(splits)]
