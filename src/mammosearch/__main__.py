"""`python -m mammosearch`: the same command line as the `mammosearch` script."""

from mammosearch.cli import app

app()
