"""The trial loop of one process: what an in-process run, a recycled child and a worker all run.

It never sets the study up (``study.setup_study`` does, once per run; children and workers
get their ``Prepared`` from ``opened.open_prepared``) and never dispatches (``run.py``
does): children and workers call this, never the entry point again.
"""

from __future__ import annotations

from pathlib import Path

import optuna

from mammosearch import runtime
from mammosearch.config.schema import Space
from mammosearch.errors import TrialFailed
from mammosearch.search.listener import StudyListener
from mammosearch.search.objective import SearchObjective
from mammosearch.search.options import RunOptions
from mammosearch.search.study import Prepared, finished_trials
from mammosearch.store.kept_models import assemble_pending
from mammosearch.store.ownership import claimed_study_dir
from mammosearch.store.record import context_of, save_linear_probes


def record_linear_probes(prepared: Prepared, space: Space, options: RunOptions) -> None:
    """Once per study, in a training process: the linear probe of each pretrained backbone."""
    from mammosearch.data.baselines import study_folds
    from mammosearch.trial.probe import linear_probes, pretrained_families

    if not pretrained_families(space) or context_of(prepared.study.user_attrs).linear_probes is not None:
        return
    images = prepared.images
    folds = study_folds(images.labels, images.patient_ids, images.splits, space.evaluation.cv_folds, space.evaluation.seed)
    save_linear_probes(prepared.study, linear_probes(space, images, folds, Path(options.results_dir) / "cache" / "activations"))


def run_trials(prepared: Prepared, space: Space, options: RunOptions, listener: StudyListener | None, max_trials: int | None = None) -> str:
    """Run the study's remaining trials in this process, at most ``max_trials`` of them (a worker's own
    ``--n-trials``); returns the runtime line (Keras, backend, devices)."""
    runtime_line = runtime.configure(options.precision)
    record_linear_probes(prepared, space, options)
    study = prepared.study
    study_dir = claimed_study_dir(options.results_dir, study)
    objective = SearchObjective(space, prepared.images, study_dir, listener, options.tensorboard, Path(options.results_dir) / "cache" / "activations")
    runtime.freeze_long_lived_objects()

    def report_end(study_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if listener is not None:
            listener.on_trial_end(trial)
        # Other workers add trials too: stop once the shared budget is spent.
        if space.study.n_trials is not None and finished_trials(study_) >= space.study.n_trials:
            study_.stop()

    remaining = prepared.remaining(space)
    if max_trials is not None:
        remaining = max_trials if remaining is None else min(remaining, max_trials)
    if remaining is None or remaining > 0:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=space.study.timeout,
            catch=(TrialFailed,),
            callbacks=[report_end],
            gc_after_trial=True,
        )
        if options.assemble_at_end:
            assemble_pending(study, study_dir)  # full models of the heads kept on cached activations
    return runtime_line
