"""Which mammosearch modules a `mammosearch run` goes through, from the command line to stored trials.

Runs the command in-process under cProfile on a two-trial CNN space (synthetic data,
recycling off) and lists every module of the package that had a function called,
in the order first seen. Works on any checkout (``PYTHONPATH=<checkout>/src``), so the
layout before and after a change can be compared:

    python benchmarks/call_path.py
    PYTHONPATH=/tmp/old/src python benchmarks/call_path.py
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SPACE = """
study: {name: path, sampler: random, pruner: none, n_trials: 2, seed: 0}
data: {source: synthetic, n_images: 48, image_size: 32, split: {validation: 0.25}}
model: {families: [cnn], input_size: 32, cnn: {filters: 4, dense_units: 8}}
training: {epochs: 1, batch_size: 16}
"""


def main() -> None:
    from typer.testing import CliRunner

    from mammosearch.cli import app

    with tempfile.TemporaryDirectory() as folder:
        space = Path(folder) / "path.yaml"
        space.write_text(SPACE, encoding="utf-8")
        args = ["run", "--space", str(space), "--storage", f"sqlite:///{folder}/p.db", "--results-dir", f"{folder}/results", "--trials-per-process", "0"]
        profile = cProfile.Profile()
        profile.enable()
        result = CliRunner().invoke(app, args)
        profile.disable()
        if result.exit_code != 0:
            sys.exit(f"run failed: {result.output}")
    stats = pstats.Stats(profile)
    package = Path(sys.modules["mammosearch"].__file__ or "").parent
    modules: dict[str, None] = {}
    for (filename, _, function), _ in stats.stats.items():  # type: ignore[attr-defined]
        path = Path(filename)
        # Module and class bodies run on import (a class body is profiled under the class's
        # capitalised name); only functions that ran count as the path.
        if function != "<module>" and not function[:1].isupper() and path.suffix == ".py" and package in path.parents:
            modules[".".join(path.relative_to(package.parent).with_suffix("").parts)] = None
    names = sorted(modules)
    print(f"{len(names)} mammosearch modules called by `mammosearch run` (2 CNN trials, in-process):")
    for name in names:
        print(f"  {name}")


if __name__ == "__main__":
    main()
