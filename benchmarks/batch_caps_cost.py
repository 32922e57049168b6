"""What the memory plan costs on the built-in demo space, before and after its bound, side by side.

    python benchmarks/batch_caps_cost.py [--repeats 2] [--budget-mb 0]

"before": ``trial.memory_plan.batch_caps`` with the bound turned off, so every family and
size is built and estimated (what main did before the bound: one Keras model per family
and size). "after": as it is, where the bound decides without building. Each measurement
runs in a fresh process with Keras already loaded and configured, as in a training process
(the run's "load Keras" stage comes first), alternating before and after. ``--budget-mb``
sets MAMMOSEARCH_MEMORY_BUDGET_MB (0: the default, a fraction of the available RAM or GPU
memory). Prints the machine's load (``uptime``) before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

_CHILD = """
import json, sys, time
from mammosearch import runtime
runtime.configure()
from mammosearch.config.reader import load_space
import mammosearch.models as models  # the face, where the planner looks build_model up
from mammosearch.trial import memory_plan
builds = []
real = models.build_model
models.build_model = lambda params, channels: builds.append(params.family) or real(params, channels)
if sys.argv[1] == "before":
    memory_plan._fits_as_asked = lambda *args: False
space = load_space(None)
started = time.perf_counter()
caps = memory_plan.batch_caps(space, 1)
print(json.dumps({"seconds": time.perf_counter() - started, "builds": len(builds), "training": caps.training, "frozen": caps.frozen}))
"""


def measure(mode: str, budget_mb: float) -> dict:
    env = dict(os.environ)
    if budget_mb:
        env["MAMMOSEARCH_MEMORY_BUDGET_MB"] = str(budget_mb)
    done = subprocess.run([sys.executable, "-c", _CHILD, mode], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--budget-mb", type=float, default=0.0)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs; load before: {uptime()}")
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for _ in range(args.repeats):
        for mode in runs:
            runs[mode].append(measure(mode, args.budget_mb))
    print(f"load after:  {uptime()}")
    for mode, results in runs.items():
        seconds = [r["seconds"] for r in results]
        print(f"{mode:6s} batch_caps on the demo space: median {statistics.median(seconds):8.3f} s "
              f"(runs: {', '.join(f'{s:.3f}' for s in seconds)}), models built: {results[0]['builds']}, "
              f"training caps: {results[0]['training']}, frozen caps: {results[0]['frozen']}")
    same = all(r["training"] == runs["before"][0]["training"] and r["frozen"] == runs["before"][0]["frozen"] for rs in runs.values() for r in rs)
    print(f"same caps before and after: {same}")


if __name__ == "__main__":
    main()
