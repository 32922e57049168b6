"""Grad-CAM pointing check on mini-MIAS whole images (normal vs abnormal), end to end through the CLI.

    MAMMOSEARCH_DATA=../shared/datasets python benchmarks/pointing_mias.py

Searches benchmarks/spaces/mias_whole_vgg16.yaml (VGG16, shared ImageNet weights), exports
the best model, then runs `mammosearch explain` on the original files of the *validation*
split's abnormal images (the model never trained on them), where the pointing check reads
the lesion circles from Info.txt. Prints the validation AUC and the pointing figures;
everything is written under results/bench/pointing_mias/.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPACE = HERE / "spaces" / "mias_whole_vgg16.yaml"
OUT = HERE.parent / "results" / "bench" / "pointing_mias"


def mammosearch(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "mammosearch.cli", *args], capture_output=True, text=True)
    if done.returncode not in (0, 3):
        sys.exit(f"mammosearch {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.time()
    results = OUT / "results"
    print(mammosearch("run", "--space", str(SPACE), "--results-dir", str(results)).strip().splitlines()[-3])
    mammosearch("export-best", "--results-dir", str(results), "--out", str(OUT / "exported"))
    mammosearch("data", "export", "--space", str(SPACE), "--results-dir", str(results), "--out", str(OUT / "images"))
    with (OUT / "images" / "manifest.csv").open(newline="") as handle:
        held_out = [row["source"] for row in csv.DictReader(handle) if row["split"] == "val" and row["label"] == "1"]
    manifest = OUT / "val_abnormal.csv"
    manifest.write_text("path\n" + "\n".join(held_out) + "\n", encoding="utf-8")
    print(mammosearch("explain", str(OUT / "exported"), str(manifest), "--out", str(OUT / "explained")).strip())
    card = json.loads((OUT / "exported" / "model_card.json").read_text())
    pointing = json.loads((OUT / "explained" / "pointing.json").read_text())
    print(f"validation AUC {card['objective']['value']:.3f} {card['metrics']['validation'].get('auc_ci95')}; "
          f"pointing: {pointing['hits']}/{pointing['images']} = {pointing['share']:.3f} vs random {pointing['random_peak_share']:.3f}; "
          f"{time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
