"""mini-MIAS lesions with real ImageNet VGG16: flip TTA and the fold ensemble against the single model, on the same images.

    MAMMOSEARCH_DATA=../shared/datasets python benchmarks/mias_tta.py [--set KEY=VALUE ...]

A short search of ``search_spaces/mias_vgg16_imagenet.yaml`` (5-fold CV by woman) with a
held-out test split (``data.split.test=0.25``, patients never in any fold), flip TTA scores
recorded (``evaluation.tta=flip``) and every fold's model kept (``study.keep_fold_models``),
then the report's predictors side by side: pooled out-of-fold AUC with and without TTA
(the fold ensemble has none: every image trained 4 of its 5 models), and the test AUC of
the single model, the top-3 ensemble and the fold ensemble, each with and without TTA.
Also the disk the fold models take. A fresh study under results/bench/mias_tta/.
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
SETTINGS = ["study.name=mias_tta", "study.n_trials=10", "study.timeout=900", "data.split.test=0.25",
            "evaluation.tta=flip", "study.keep_fold_models=true", "study.keep_top_k=3"]


def _ci(entry: object) -> str:
    if not isinstance(entry, dict) or entry.get("auc") is None:
        return str(entry or "-")
    ci = entry.get("ci95")
    return f"{entry['auc']:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "") + f" n={entry['images']}"


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="passed to `mammosearch run --set` after the settings above")
    args = parser.parse_args()
    out = REPO / "results" / "bench" / "mias_tta"
    shutil.rmtree(out, ignore_errors=True)
    storage = f"sqlite:///{out / 'study.db'}"
    command = [sys.executable, "-m", "mammosearch.cli", "run", "--space", str(SPACE), "--storage", storage, "--results-dir", str(out)]
    for item in SETTINGS + args.overrides:
        command += ["--set", item]
    print("settings:", " ".join(SETTINGS + args.overrides), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started

    from mammosearch.report import build_report
    from mammosearch.store import load_study

    name = next((s.split("=", 1)[1] for s in reversed(SETTINGS + args.overrides) if s.startswith("study.name=")), "mias_tta")
    record = load_study(storage, name)
    report = build_report(record, out, write_files=False)
    assert report.best is not None, "no complete trial"
    trials = sorted(p for p in (out / name / "trials").iterdir() if p.is_dir())
    fold_bytes = sum(_bytes(t / "folds") for t in trials if (t / "folds").is_dir())
    first_bytes = sum(_bytes(t) for t in trials) - fold_bytes
    figures = {"settings": SETTINGS + args.overrides, "trials": report.state_counts, "wall_seconds": round(wall, 1),
               "best_trial": report.best.number, "best_mean_fold_auc": report.best.value, "predictors": report.predictors,
               "kept_trials": len(trials), "first_fold_models_bytes": first_bytes, "other_fold_models_bytes": fold_bytes}
    (out / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"trials: {report.state_counts}; wall {wall / 60:.1f} min; best trial {report.best.number}, mean fold AUC {report.best.value:.3f}")
    print(f"{'predictor':48} {'TTA':5} {'pooled out-of-fold AUC (95% CI)':36} test AUC (95% CI)")
    for row in report.predictors:
        print(f"{row['predictor']:48} {row['tta']:5} {_ci(row['selection']):36} {_ci(row['test'])}")
    print(f"kept models: {len(trials)} trials, first fold {first_bytes / 1e6:.1f} MB, the other folds (study.keep_fold_models) {fold_bytes / 1e6:.1f} MB")
    print(f"figures: {out / 'figures.json'}")


if __name__ == "__main__":
    main()
