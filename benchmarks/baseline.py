"""The study's trivial baseline for any space's data, evaluated exactly as the search evaluates trials.

    python benchmarks/baseline.py --space search_spaces/mias_cnn.yaml

The same function `run` records with every study (data/trivial_baseline.py: a tuned
logistic regression on image and acquisition statistics, no learned features), on the same
patient-grouped folds (or the same validation split) as the search, with the same
patient-bootstrap 95% CI, so the figure printed here is the one `report` shows for a study
of that space. A search result is only worth something where it clearly beats it. Prints
the figures and writes JSON under results/bench/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mammosearch.config import load_space
from mammosearch.data import load_image_set, trivial_baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    args = parser.parse_args()

    space = load_space(args.space)
    # The checks too (photometry flips under auto), as `run` loads the data before it fits the baseline.
    images = load_image_set(space.data, space.split, cache_dir=args.results_dir / "cache", checks=space.checks)
    k = space.evaluation.cv_folds
    baseline = trivial_baseline(images, k, space.evaluation.seed)
    if baseline is None:
        raise SystemExit("no image statistic varies: the trivial baseline cannot be fitted")
    fold_aucs = baseline["fold_aucs"]
    result = {
        "space": str(args.space),
        "data": images.description,
        "baseline": baseline["name"],
        "evaluation": f"{k}-fold patient-grouped CV" if k else "validation split",
        "mean_fold_auc": float(np.mean(fold_aucs)),
        "fold_aucs": fold_aucs,
        "auc": baseline["auc"],  # pooled out-of-fold under CV, the validation split's otherwise
        "auc_ci95": baseline["ci95"],
        "evaluated_on": baseline["evaluated_on"],
        "chance_auc": 0.5,
    }
    out = args.results_dir / "bench" / f"baseline_{args.space.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    ci = baseline["ci95"]
    print(f"data: {result['data']}")
    print(f"evaluation: {result['evaluation']}")
    print(f"{baseline['name']}: mean fold AUC {result['mean_fold_auc']:.3f} "
          f"(folds {' '.join(f'{a:.3f}' for a in fold_aucs)}); AUC on {baseline['evaluated_on']} {baseline['auc']:.3f}"
          + (f" (95% CI {ci[0]:.3f}-{ci[1]:.3f})" if ci else ""))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
