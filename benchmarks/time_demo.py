"""Time the README's main job: `mammosearch run` on the built-in demo, in a fresh folder.

    python benchmarks/time_demo.py

Prints the wall time of `run`, the trial states and the best validation AUC. A script,
not a test: the figure depends on the machine (the README says which one it came from).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    exe = Path(sys.executable).parent / "mammosearch"
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run([str(exe), "run"], cwd=folder, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        report = subprocess.run([str(exe), "report", "--format", "json"], cwd=folder, check=True, capture_output=True, text=True)
    payload = json.loads(report.stdout)
    best = payload["leaderboard"][0] if payload["leaderboard"] else {}
    print(f"cpu cores: {os.cpu_count()}")
    print(f"mammosearch run (built-in demo): {seconds:.1f} s wall")
    print(f"trials: {payload['state_counts']}")
    print(f"best: trial {best.get('trial')} {best.get('family')}/{best.get('head')} val AUC {best.get('val_auc'):.3f} "
          f"(95% CI {best.get('val_auc_ci_low'):.3f}-{best.get('val_auc_ci_high'):.3f})")


if __name__ == "__main__":
    main()
