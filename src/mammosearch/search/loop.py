"""The trial loop of one process: what an in-process run, a recycled child and a worker all run.

It never sets the study up (``study.setup_study`` does, once per run; children and workers
get their ``Prepared`` from ``opened.open_prepared``) and never dispatches (``run.py``
does): children and workers call this, never the entry point again.
"""

from __future__ import annotations

from pathlib import Path

import optuna

from mammosearch import runtime
from mammosearch.config import Space
from mammosearch.data.arrays import filling
from mammosearch.deadline import seconds_left
from mammosearch.errors import Terminated, TrialFailed
from mammosearch.progress import stage
from mammosearch.search._listener import StudyListener
from mammosearch.search._objective import SearchObjective
from mammosearch.search._order_watch import stop_on_new_order
from mammosearch.search.options import RunOptions
from mammosearch.search.study import Prepared, finished_trials
from mammosearch.store import assemble_pending, claimed_study_dir, requeue_stopped, stopped_by_budget, sweep_dropped
from mammosearch.store.artifact_store import kept_artifacts
from mammosearch.store.record import context_of, save_linear_probes
from mammosearch.trial import BatchCaps, batch_caps


def record_linear_probes(prepared: Prepared, space: Space, options: RunOptions, caps: BatchCaps | None = None) -> None:
    """Once per study, in the first training process: the linear probe of each pretrained backbone.

    In a training process, not in the set-up: the probe needs Keras and the backbone's frozen
    pass over every image, a GPU's work (`run --setup-only` may run on a login node), and that
    pass fills the activation cache the trials then read. Workers started together would each
    fit it, so the fit holds the study's probe lock (``data/arrays``' file lock on the shared
    results folder): the first fits and records it, the others wait, find it recorded, and
    only read it. A worker killed mid-fit releases the lock (``flock``) and the next one fits.
    """
    from mammosearch.data import study_folds
    from mammosearch.trial import linear_probes, pretrained_families

    if not pretrained_families(space) or _probes_recorded(prepared.study):
        return
    left = seconds_left(options.deadline)
    if left is not None and left <= 0:
        return  # the time budget is spent: the next run of the study computes it
    with filling(claimed_study_dir(options.results_dir, prepared.study).data_dir() / "linear_probes"):
        if _probes_recorded(prepared.study):
            return  # another worker fitted them while this one waited
        images = prepared.images
        folds = study_folds(images.labels, images.patient_ids, images.splits, space.evaluation.cv_folds, space.evaluation.seed)
        with stage("linear probes"):
            save_linear_probes(prepared.study, linear_probes(space, images, folds, Path(options.results_dir) / "cache" / "activations", caps))


def _probes_recorded(study: optuna.Study) -> bool:
    return context_of(study.user_attrs).linear_probes is not None  # read from the storage: what other workers wrote counts


def run_trials(prepared: Prepared, space: Space, options: RunOptions, listener: StudyListener | None, max_trials: int | None = None) -> str:
    """Run the study's remaining trials in this process, at most ``max_trials`` of them (a worker's own
    ``--n-trials``); returns the runtime line (Keras, backend, devices)."""
    with stage("load Keras"):  # seconds in a fresh process; nothing in a recycled child, which loaded it while waiting
        runtime_line = runtime.configure(options.precision)
    with stage("memory plan"):
        caps = batch_caps(space, prepared.images.channels)  # refuses a configuration that cannot fit, before any trial
    record_linear_probes(prepared, space, options, caps)
    study = prepared.study
    study_dir = claimed_study_dir(options.results_dir, study)
    artifacts = kept_artifacts(study.user_attrs, options.artifacts_url, writing=True)
    if artifacts is not None:
        artifacts.store  # noqa: B018 - opened (and checked) now: a store this node cannot reach is one line before any trial
    objective = SearchObjective(
        space, prepared.images, study_dir, listener, options.tensorboard, Path(options.results_dir) / "cache" / "activations",
        deadline=options.deadline, caps=caps, artifacts=artifacts,
    )
    runtime.freeze_long_lived_objects()

    def report_end(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if listener is not None:
            listener.on_trial_end(trial)
        # Other workers add trials too: stop once the shared budget is spent. A trial the time
        # budget stopped means no time is left for another.
        if stopped_by_budget(trial) or (space.study.n_trials is not None and finished_trials(study_) >= space.study.n_trials):
            study_.stop()

    remaining = prepared.remaining(space)
    if max_trials is not None:
        remaining = max_trials if remaining is None else min(remaining, max_trials)
    # The budget of the whole command: set-up and probes have used part of it (Optuna checks
    # it before starting each trial; the epoch callback stops the trial in progress in time).
    left = seconds_left(options.deadline) if options.deadline is not None else space.study.timeout
    if (remaining is None or remaining > 0) and (left is None or left > 0):
        in_progress: list[int] = []  # the storage id of the trial this process is training

        def tracked(trial: optuna.Trial) -> float:
            in_progress[:] = [trial._trial_id]
            return objective(trial)

        try:
            study.optimize(
                tracked,
                n_trials=remaining,
                timeout=left,
                catch=(TrialFailed,),
                callbacks=[report_end, *stop_on_new_order(options)],
                gc_after_trial=True,
            )
        except Terminated:
            # SIGTERM (search/termination.py): Optuna has failed the trial; its parameters go
            # back in the queue now, as a dead worker's do after the grace period.
            requeued = requeue_stopped(study, in_progress[0]) if in_progress else None
            raise Terminated(None if requeued is None else requeued.number) from None
        if options.assemble_at_end:
            # Full models of the heads kept on cached activations, on the trunks the trials built (their models are done with).
            assemble_pending(study, study_dir, reuse_trunks=True, artifacts=artifacts)
        sweep_dropped(study, artifacts, space.study.keep_top_k)
    return runtime_line
