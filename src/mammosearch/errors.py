"""Error hierarchy.

Two levels, as in keras-tuner: a :class:`TrialFailed` marks one trial FAIL and the
study goes on; every other :class:`MammosearchError` is fatal (bad configuration,
unreadable data, unusable storage) and stops the command before or between trials.
Only ``cli.py`` turns these into a red one-line message and an exit code.
"""

from __future__ import annotations


class MammosearchError(Exception):
    """Base class of every error mammosearch reports to a user as one line."""

    exit_code: int = 1


class SpaceError(MammosearchError):
    """The YAML search space is malformed or names something that does not exist."""

    exit_code = 2


class DataError(MammosearchError):
    """A data source is missing, empty or unreadable."""

    exit_code = 3


class StorageError(MammosearchError):
    """The Optuna storage cannot be opened or the study is not in it."""

    exit_code = 4


class ExportError(MammosearchError):
    """There is nothing to export, or the exported artefacts cannot be written."""

    exit_code = 5


class ApplyError(MammosearchError):
    """`predict`, `evaluate` or `explain` cannot run: no such model, bad inputs, overlapping patients."""

    exit_code = 6


class BackendError(MammosearchError):
    """No Keras backend (TensorFlow, JAX or PyTorch) is installed, or not the one asked for."""

    exit_code = 7


class TrialFailed(Exception):
    """This trial cannot produce a result (non-finite loss, OOM, impossible params).

    Not a :class:`MammosearchError` (as KerasTuner's ``FailedTrialError`` is not a
    ``FatalError``): the study records the trial as FAIL with this message and continues.
    """


class BudgetSpent(TrialFailed):
    """The command's time budget (``--timeout``) would be overrun by this trial's next epoch.

    Raised at an epoch boundary. The trial is recorded as FAIL with ``stopped_by_budget``
    (not ranked, not counted towards ``n_trials``) and queued again with the same
    parameters, so that the next run of the same command trains it in full.
    """

    def __init__(self, epochs_trained: int, total_epochs: int, where: str = "") -> None:
        super().__init__(
            f"stopped by the time budget (--timeout) after epoch {epochs_trained} of {total_epochs}{where}; "
            "run the same command to train it in full"
        )
        self.epochs_trained = epochs_trained


class StorageMissing(StorageError):
    """The storage a read-only command (or a waiting worker) opens is not there yet: no file, no tables."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (``scancel``, SLURM pre-emption, a Kubernetes pod's stop): stop at once, as Ctrl-C does.

    A ``KeyboardInterrupt`` so that Optuna treats it as it treats Ctrl-C (the running trial
    is marked FAIL, then it is raised again) and no ``except Exception`` in a trial swallows
    it; its own class so that the trial is queued again and the process exits 143, which a
    scheduler reads as "stopped by a signal" (``search/termination.py``).
    """

    exit_code = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM ended

    def __init__(self, requeued: int | None = None) -> None:
        super().__init__()
        self.requeued = requeued  # the number of the trial whose parameters were queued again, if any
