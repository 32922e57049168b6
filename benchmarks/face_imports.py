"""What importing each package's face, and the fast commands, load: modules, heavy libraries, seconds.

    python benchmarks/face_imports.py               # every face and `report --help`, 5 fresh processes each
    python benchmarks/face_imports.py --repeat 9

A face (a package's ``__init__``) loads every module it re-exports, so a face must only
re-export what is cheap: ``mammosearch.report`` and ``mammosearch.models`` (the registry) never
load Keras, and `mammosearch report --help` loads what it loaded before the faces. Each line
runs in a fresh interpreter: the number of modules in ``sys.modules`` afterwards (all, and
mammosearch's own), the heavy libraries among them, and the median wall seconds of the import
(or the command) itself. The load average is printed too: other processes share the CPU, so
compare the module counts and libraries first, the seconds second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

HEAVY = ("tensorflow", "keras", "jax", "torch", "optuna", "matplotlib", "sklearn", "scipy", "pandas", "pydicom", "PIL", "h5py", "sqlalchemy")

FACES = ("spec", "metrics", "data", "models", "config", "store", "trial", "search", "report", "apply", "cli")

PROBE = """
import json, sys, time
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
mine = [m for m in sys.modules if m == "mammosearch" or m.startswith("mammosearch.")]
print(json.dumps({{"seconds": seconds, "modules": len(sys.modules), "mine": len(mine),
                  "heavy": sorted(h for h in {heavy!r} if h in sys.modules)}}))
"""

HELP = """
import sys
from mammosearch.cli import app
sys.argv = ["mammosearch", "report", "--help"]
try:
    app()
except SystemExit:
    pass
"""


def probe(body: str) -> dict[str, object]:
    code = PROBE.format(body=body, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [(f"import mammosearch.{name}", f"import mammosearch.{name}") for name in FACES]
    cases.append(("report --help", HELP))
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} fresh processes each; median seconds")
    print(f"{'what':32} {'modules':>8} {'mammosearch':>12} {'seconds':>8}  heavy libraries loaded")
    for label, body in cases:
        runs = [probe(body) for _ in range(args.repeat)]
        first = runs[0]
        seconds = statistics.median(float(str(run["seconds"])) for run in runs)
        print(f"{label:32} {first['modules']:>8} {first['mine']:>12} {seconds:>8.2f}  {', '.join(first['heavy']) or '-'}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
