"""`python -m mammosearch.cli`: how `run --workers N` starts each worker."""

from mammosearch.cli.app import app

app()
