"""What to say about trials still marked RUNNING: a live run's, or the leftovers of a killed one.

A process killed mid-trial (``kill -9``, a pre-empted node, a closed laptop) cannot mark
its trial finished, so the storage keeps it RUNNING. Whoever reads the study cannot tell
from the storage alone whether that run is still going on another machine, so the note
says how to tell and what reclaims it: the same ``run`` command again, whose heartbeat
check (``store/storage.py``: Optuna's ``RetryHeartbeatStaleTrialCallback``) marks a trial
silent for two heartbeat intervals failed and queues its parameters again.
"""

from __future__ import annotations

from collections.abc import Sequence

import optuna

from mammosearch.words import plural

LISTED = 10
RECLAIM_HINT = (
    "if no run is going on (the one that started it was killed), run the same `mammosearch run` command again: "
    "a trial without a heartbeat for two intervals (--heartbeat, default 60 s) is marked failed and its parameters are "
    "tried again (with --heartbeat 0 it stays running)"
)


def running_note(numbers: Sequence[int]) -> str | None:
    """One line naming the RUNNING trials and how a killed run's leftovers are reclaimed; None when there are none."""
    if not numbers:
        return None
    shown = ", ".join(str(n) for n in numbers[:LISTED]) + (f" and {len(numbers) - LISTED} more" if len(numbers) > LISTED else "")
    return f"{plural(len(numbers), 'trial')} still marked running: {shown}; {RECLAIM_HINT}"


def running_numbers(study: optuna.Study) -> list[int]:
    return [t.number for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))]
