"""The command line: parse, call one function, print with rich. Nothing else lives here.

One module per group of commands; importing this package registers them all on ``app``,
in the order `mammosearch --help` lists them: the search, then using what it found, then
data and weights (hence the import order below, which is not alphabetical).
"""

# ruff: noqa: I001
from mammosearch.cli import run, worker, study
from mammosearch.cli import apply, data, weights
from mammosearch.cli.app import app, main

__all__ = ["app", "apply", "data", "main", "run", "study", "weights", "worker"]
