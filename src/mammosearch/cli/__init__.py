"""The command line: parse, call one function, print with rich. Nothing else lives here.

One module per group of commands; importing this package registers them all on ``app``.
"""

from mammosearch.cli import apply, data, study, weights
from mammosearch.cli.app import app, main
from mammosearch.cli.run import worker_argv

__all__ = ["app", "apply", "data", "main", "study", "weights", "worker_argv"]
