"""mini-MIAS with real ImageNet VGG16 weights: the search, and every figure that says whether it paid off.

    MAMMOSEARCH_DATA=../shared/datasets python benchmarks/mias_imagenet.py [--set KEY=VALUE ...]

Runs `mammosearch run --space search_spaces/mias_vgg16_imagenet.yaml` (a fresh study under
results/bench/mias_imagenet/), then prints what the README's table shows: trials and wall
time, the best mean fold AUC, the best trial's pooled out-of-fold AUC with its CI, the
BBC-CV estimate, the top-3 ensemble's pooled AUC, and the trivial baseline and the linear
probe on the same folds. Writes the same as JSON beside the study.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPACE = REPO / "search_spaces" / "mias_vgg16_imagenet.yaml"


def _ci(entry: dict | None) -> str:
    if not entry or entry.get("auc") is None:
        return "-"
    ci = entry.get("ci95")
    return f"{entry['auc']:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to `mammosearch run --set`")
    parser.add_argument("--keep", action="store_true", help="resume the existing study instead of starting afresh")
    args = parser.parse_args()
    out = REPO / "results" / "bench" / "mias_imagenet"
    if out.exists() and not args.keep:
        shutil.rmtree(out)
    storage = f"sqlite:///{out / 'study.db'}"
    command = [str(Path(sys.executable).parent / "mammosearch"), "run", "--space", str(SPACE), "--storage", storage, "--results-dir", str(out)]
    for item in args.overrides:
        command += ["--set", item]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started

    from mammosearch.report import build_report
    from mammosearch.store import load_study

    record = load_study(storage, "mias_vgg16_imagenet")
    report = build_report(record, out)
    best = report.best
    assert best is not None, "no complete trial"
    counts = report.state_counts
    ensemble = (report.ensemble or {}).get("splits", {}).get("out_of_fold", {}).get("ensemble")
    figures = {
        "trials": counts, "wall_seconds": round(wall, 1), "best_trial": best.number, "best_mean_fold_auc": best.value,
        "best_fold_aucs": best.val_metrics.fold_aucs if best.val_metrics else None,
        "best_pooled_oof": {"auc": best.val_metrics.auc if best.val_metrics else None, "ci95": best.val_metrics.auc_ci95 if best.val_metrics else None},
        "bbc_cv": report.bbc, "ensemble_top3_pooled_oof": ensemble, "baselines": report.baselines,
        "best_params": best.params,
    }
    (out / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"trials: {counts}; wall {wall / 60:.1f} min")
    print(f"best trial {best.number}: mean fold AUC {best.value:.3f} (folds {' '.join(f'{a:.3f}' for a in figures['best_fold_aucs'] or [])})")
    print(f"best trial pooled out-of-fold AUC: {_ci(figures['best_pooled_oof'])}")
    print(f"BBC-CV estimate: {_ci(report.bbc)}")
    print(f"top-3 ensemble, pooled out-of-fold: {_ci(ensemble)}")
    for baseline in report.baselines:
        print(f"{baseline['name']}: {_ci(baseline)}")
    print(f"figures: {out / 'figures.json'}")


if __name__ == "__main__":
    main()
