"""What importing each package's face, and the fast commands, load: modules, heavy libraries, seconds.

    python benchmarks/face_imports.py               # every face and `report --help`, 5 fresh processes each
    python benchmarks/face_imports.py --repeat 9
    python benchmarks/face_imports.py --base ../main/src --only cli "report --help"   # side by side with another tree
    python benchmarks/face_imports.py --base ../main/src --only report-study --with-study   # `mammosearch report` on a study

``--with-study`` adds `mammosearch report` (table, CSV, JSON, plots, HTML) on a small stored study
(tests/report_studies.py's ``make_study``: four trials, no training), written once with this tree.

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
import tempfile
from pathlib import Path

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


REPORT = """
import sys
from mammosearch.cli import app
sys.argv = ["mammosearch", "report", "--storage", {storage!r}, "--study", {study!r}, "--results-dir", {results!r}, "--format", "json"]
try:
    app()
except SystemExit:
    pass
"""

HERE_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def probe(body: str, src: str) -> dict[str, object]:
    code = PROBE.format(body=body, heavy=HEAVY)
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def line(label: str, runs: list[dict[str, object]]) -> str:
    first = runs[0]
    seconds = statistics.median(float(str(run["seconds"])) for run in runs)
    heavy = ", ".join(first["heavy"]) or "-"  # type: ignore[arg-type]
    return f"{label:40} {first['modules']:>8} {first['mine']:>12} {seconds:>8.3f}  {heavy}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--base", help="another tree's src/ folder, measured alternately with this one (same load on the machine)")
    parser.add_argument("--only", nargs="+", help="only these cases (a face's name, 'report --help', or 'report-study' with --with-study)")
    parser.add_argument("--with-study", action="store_true", help="also `mammosearch report` on a small stored study")
    args = parser.parse_args()
    cases = [(name, f"import mammosearch.{name}") for name in FACES]
    cases.append(("report --help", HELP))
    if args.with_study:
        folder = tempfile.mkdtemp(prefix="face-imports-")
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
        from report_studies import NAME, make_study

        storage = make_study(Path(folder))
        cases.append(("report-study", REPORT.format(storage=storage, study=NAME, results=os.path.join(folder, "results"))))
    if args.only:
        cases = [case for case in cases if case[0] in args.only]
    trees = [("here", HERE_SRC)] + ([("base", args.base)] if args.base else [])
    print(f"load average {os.getloadavg()[0]:.2f}; {args.repeat} fresh processes each, trees alternating; median seconds")
    print(f"{'what':40} {'modules':>8} {'mammosearch':>12} {'seconds':>8}  heavy libraries loaded")
    for label, body in cases:
        runs: dict[str, list[dict[str, object]]] = {tree: [] for tree, _ in trees}
        for _ in range(args.repeat):
            for tree, src in trees:
                runs[tree].append(probe(body, src))
        for tree, _ in trees:
            print(line(f"{label} ({tree})" if args.base else label, runs[tree]))


if __name__ == "__main__":
    main()
