"""SIGTERM stops a training process at once, its running trial failed and queued again, instead of leaving it RUNNING.

``scancel``, SLURM pre-emption and a Kubernetes pod's stop send SIGTERM, then SIGKILL a
grace period later. By default SIGTERM ends Python on the spot: the trial stays RUNNING
until another worker's heartbeat check reclaims it (two heartbeat intervals later, on a
storage with heartbeats). Optuna's loop handles only exceptions and Ctrl-C
(``optuna/study/_optimize.py``: a ``KeyboardInterrupt`` fails the trial and is raised again),
so here SIGTERM raises :class:`~mammosearch.errors.Terminated`, a ``KeyboardInterrupt``:
Optuna fails the trial, ``loop.run_trials`` queues its parameters again with the callback
a stale trial gets (``store/heartbeat.py``), and the command exits 143. SIGINT keeps its
own handling (``recycling.py``: children ignore it until they are ready).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from mammosearch.errors import Terminated

_stopping = threading.Event()


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    if _stopping.is_set():
        # A second SIGTERM (SLURM signals every process of the step, and a parent passes it
        # on to its child): the clean-up the first one started must not be cut short.
        return
    _stopping.set()
    raise Terminated()


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """Within it, SIGTERM raises :class:`Terminated` in this process's main thread (elsewhere: nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _stopping.clear()
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
