"""The Wilcoxon pruner against the median pruner at an equal trial budget, on mini-MIAS lesions with real ImageNet VGG16.

    MAMMOSEARCH_DATA=../shared/datasets python benchmarks/mias_wilcoxon.py [--trials N] [--set KEY=VALUE ...]

Two fresh studies of ``search_spaces/mias_vgg16_imagenet.yaml`` (5-fold CV by woman, TPE,
seed 0), the same in everything but the pruner: the space's median pruner (steps are folds:
the running mean fold AUC against the median of finished trials at that fold) and
``wilcoxon`` (each fold's own AUC paired with the best trial's same fold; p < 0.1). Kept
short by default: feature extraction only, no augmentation (heads on cached activations).
Prints, per pruner: trials complete and pruned, folds trained, wall time, the best trial's
mean fold AUC and its pooled out-of-fold AUC with the 95% CI by woman, and the BBC-CV
estimate. Under results/bench/mias_wilcoxon/.
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
SHORT = ["training.fine_tune=false", "training.augmentation.flip=false", "training.augmentation.rotation=0.0",
         "training.augmentation.zoom=0.0", "study.timeout=3600"]
PRUNERS = {"median": [], "wilcoxon": ["study.pruner.name=wilcoxon"]}


def _ci(auc: float | None, ci: list[float] | None) -> str:
    return "-" if auc is None else f"{auc:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def run(name: str, settings: list[str], out: Path) -> dict:
    import optuna

    from mammosearch.report import bbc_estimate
    from mammosearch.store import load_study

    folder = out / name
    shutil.rmtree(folder, ignore_errors=True)
    storage = f"sqlite:///{folder / 'study.db'}"
    command = [sys.executable, "-m", "mammosearch.cli", "run", "--space", str(SPACE), "--storage", storage, "--results-dir", str(folder)]
    for item in [f"study.name=wilcoxon_bench_{name}", *settings]:
        command += ["--set", item]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    record = load_study(storage, f"wilcoxon_bench_{name}")
    study = optuna.load_study(study_name=f"wilcoxon_bench_{name}", storage=storage)
    folds = sum(len(t.intermediate_values) for t in study.trials)
    best = record.ranked()[0]
    val = best.val_metrics
    return {"pruner": name, "states": record.state_counts(), "folds_trained": folds, "wall_seconds": round(wall, 1),
            "best_trial": best.number, "best_mean_fold_auc": best.value, "best_pooled_oof": {"auc": val.auc if val else None, "ci95": val.auc_ci95 if val else None},
            "bbc_cv": bbc_estimate(record)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="the trial budget of each study (default 20)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to both runs' `mammosearch run --set`")
    parser.add_argument("--only", choices=tuple(PRUNERS), help="run this pruner's study again; the other's figures are read from figures.json")
    args = parser.parse_args()
    out = REPO / "results" / "bench" / "mias_wilcoxon"
    common = [*SHORT, f"study.n_trials={args.trials}", *args.overrides]
    print("settings, both studies:", " ".join(common), flush=True)
    earlier = {}
    if args.only and (out / "figures.json").is_file():
        earlier = {row["pruner"]: row for row in json.loads((out / "figures.json").read_text())["runs"]}
    rows = [earlier[name] if args.only and name != args.only and name in earlier else run(name, common + extra, out) for name, extra in PRUNERS.items()]
    (out / "figures.json").write_text(json.dumps({"settings": common, "runs": rows}, indent=2, default=str))
    print(f"{'pruner':9} {'complete':>8} {'pruned':>6} {'folds':>5} {'wall':>7}  best mean fold AUC  best pooled out-of-fold AUC (95% CI)  BBC-CV (95% CI)")
    for row in rows:
        states, bbc = row["states"], row["bbc_cv"] or {}
        print(f"{row['pruner']:9} {states.get('complete', 0):>8} {states.get('pruned', 0):>6} {row['folds_trained']:>5} {row['wall_seconds'] / 60:>5.1f} m  "
              f"{row['best_mean_fold_auc']:.3f} (trial {row['best_trial']})   {_ci(row['best_pooled_oof']['auc'], row['best_pooled_oof']['ci95']):36} "
              f"{_ci(bbc.get('auc'), bbc.get('ci95'))}")
    print(f"figures: {out / 'figures.json'}")


if __name__ == "__main__":
    main()
