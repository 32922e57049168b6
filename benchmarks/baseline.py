"""A trivial baseline for any space's data, evaluated exactly as the search evaluates trials.

    python benchmarks/baseline.py --space search_spaces/mias_cnn.yaml

Logistic regression on a 16-bin intensity histogram plus mean and standard deviation of
each image (no learned features), on the same patient-grouped folds (or the same
validation split) as the search, with the same patient-bootstrap 95% CI. A search result is
only worth something where it clearly beats this line. Prints a table and writes JSON under
results/bench/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mammosearch.data.folds import cross_validation_folds, holdout_fold
from mammosearch.data.loading import load_image_set
from mammosearch.metrics import auc_from_ranks, bootstrap_auc_ci
from mammosearch.config.reader import load_space


def intensity_features(images: np.ndarray) -> np.ndarray:
    flat = images.reshape(len(images), -1).astype("float64")
    hist = np.stack([np.histogram(row, bins=16, range=(0, 256), density=True)[0] for row in flat])
    return np.column_stack([hist, flat.mean(axis=1), flat.std(axis=1)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    args = parser.parse_args()

    space = load_space(args.space)
    images = load_image_set(space.data, space.split, cache_dir=args.results_dir / "cache")
    features = intensity_features(images.images)
    k = space.evaluation.cv_folds
    folds = cross_validation_folds(images.labels, images.patient_ids, images.splits, k, space.evaluation.seed) if k else [holdout_fold(images.splits)]
    oof = np.full(len(images.labels), np.nan)
    fold_aucs = []
    for fold in folds:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
        model.fit(features[fold.train], images.labels[fold.train])
        scores = model.predict_proba(features[fold.val])[:, 1]
        oof[fold.val] = scores
        fold_aucs.append(float(auc_from_ranks(images.labels[fold.val], scores)))
    scored = np.isfinite(oof)
    pooled = float(auc_from_ranks(images.labels[scored], oof[scored]))
    ci = bootstrap_auc_ci(images.labels[scored], oof[scored], groups=images.patient_ids[scored], n_boot=1000, seed=0)
    result = {
        "space": str(args.space),
        "data": images.description,
        "baseline": "logistic regression on intensity histogram + mean + std",
        "evaluation": f"{k}-fold patient-grouped CV" if k else "validation split",
        "mean_fold_auc": float(np.mean(fold_aucs)),
        "fold_aucs": fold_aucs,
        "pooled_auc": pooled,
        "pooled_auc_ci95": None if ci is None else [float(ci[0]), float(ci[1])],
        "chance_auc": 0.5,
    }
    out = args.results_dir / "bench" / f"baseline_{args.space.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"data: {result['data']}")
    print(f"evaluation: {result['evaluation']}")
    print(f"baseline ({result['baseline']}): mean fold AUC {result['mean_fold_auc']:.3f} "
          f"[{' '.join(f'{a:.3f}' for a in fold_aucs)}], pooled AUC {pooled:.3f}"
          + (f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else ""))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
