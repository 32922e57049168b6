"""One `mammosearch run --workers N` worker: ``python -m mammosearch.search.worker_main ORDER``.

The coordinating ``run`` sets the study up once (``study.setup_study``) and writes what
to run (the space and the run options, pickled) to ``ORDER`` in the study's workers
folder; each worker only opens the prepared study and runs the trial loop (in recycled
children when its share is longer than ``--trials-per-process``), as Optuna's
workers run ``_optimize_sequential`` and never ``_optimize`` again. Its output (one line
per trial) goes to the worker's log.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import optuna

from mammosearch.config.schema import Space
from mammosearch.errors import MammosearchError
from mammosearch.progress import reporting
from mammosearch.progress_lines import PlainLines
from mammosearch.search.options import RunOptions
from mammosearch.spec.params import TrialParams


class LogListener:
    """A worker's progress, one plain line per trial start and end, for its log file."""

    def on_study_start(self, *args: Any, **kwargs: Any) -> None:
        pass  # the coordinating process announced the study

    def on_trial_start(self, number: int, params: TrialParams) -> None:
        print(f"trial {number} started: {params.to_json()}", flush=True)

    def on_epoch(self, epoch: int, total_epochs: int, logs: dict[str, float]) -> None:
        pass

    def on_trial_end(self, trial: optuna.trial.FrozenTrial) -> None:
        print(f"trial {trial.number} {trial.state.name.lower()}: {trial.value}", flush=True)


def main(argv: list[str]) -> int:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # Written by this user's own `run` into its study folder a moment ago (workers.py).
    space, options = pickle.loads(Path(argv[0]).read_bytes())
    # The worker's long stages (a linear probe, activations) as plain lines in its log.
    with reporting(PlainLines(lambda line: print(line, flush=True))):
        return _run(space, options)


def _run(space: Space, options: RunOptions) -> int:
    from mammosearch.search.opened import open_prepared
    from mammosearch.search.run import recycles

    try:
        prepared = open_prepared(space, options)
        if recycles(options, prepared.remaining(space)):
            from mammosearch.search.recycling import run_recycled

            # A long share trains in recycled children too (memory stays flat); they open the study as this worker did.
            runtime_line = run_recycled(space, options, prepared.study, LogListener())
        else:
            from mammosearch.search.loop import run_trials

            runtime_line = run_trials(prepared, space, options, LogListener())
    except MammosearchError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    print(runtime_line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
