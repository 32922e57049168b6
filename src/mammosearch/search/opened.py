"""Opening a study that was set up: what recycled children and ``--workers`` processes do instead of set-up.

As Optuna's parallel workers run ``_optimize_sequential`` and never ``_optimize`` again,
a training process here never runs the set-up stage (``study.setup_study``): no
preflight, no data fingerprint, no space check, no baseline refit. It loads the study,
refuses one that was never set up or was set up for other data (``StudyContext.setup_data_key``), loads
the images (from the on-disk cache where the source has one) and reads the recorded
fingerprint back for its notes (from the study's artifact store on a node without the set-up's folder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna

from mammosearch.config import Space
from mammosearch.data import load_image_set
from mammosearch.errors import MammosearchError
from mammosearch.search.options import RunOptions
from mammosearch.search.samplers import make_pruner, make_sampler
from mammosearch.search.study import Prepared, finished_trials
from mammosearch.store import StudyDir, mask_url, open_storage
from mammosearch.store.artifact_store import fetch_for_reading, kept_artifacts
from mammosearch.store.record import context_of


def open_prepared(space: Space, options: RunOptions) -> Prepared:
    """The prepared study of ``space`` with its data, ready for ``loop.run_trials``; sets nothing up."""
    name = options.study_name or space.study_name
    try:
        study = optuna.load_study(
            study_name=name,
            storage=open_storage(options.storage_url, heartbeat=options.heartbeat),
            sampler=make_sampler(space),
            pruner=make_pruner(space),
        )
    except KeyError:
        raise MammosearchError(f"study '{name}' is not in {mask_url(options.storage_url)}: `mammosearch run` sets it up first") from None
    attrs = study.user_attrs  # one read of the study's attributes (a query on a database)
    context = context_of(attrs)
    set_up_for = context.setup_data_key
    if set_up_for is None:
        raise MammosearchError(f"study '{name}' was never set up by this version: run `mammosearch run` to set it up")
    images = load_image_set(space.data, space.split, cache_dir=Path(options.results_dir) / "cache", checks=space.checks)
    if images.data_key != set_up_for:
        # The files or a data key changed between the set-up and this process: its
        # fingerprint, baseline and CV pool would describe other data.
        raise MammosearchError(f"study '{name}': the data changed since the study was set up; run `mammosearch run` again to set it up")
    study_dir = StudyDir(options.results_dir, name)
    artifacts = kept_artifacts(attrs, options.artifacts_url)
    if artifacts is not None:  # a worker on a node that does not share the set-up's results folder
        fetch_for_reading(artifacts, study_dir, context.study_uid, {}, attrs)
    return Prepared(study, images, finished_trials(study), _recorded_fingerprint(study_dir))


def _recorded_fingerprint(study_dir: StudyDir) -> dict[str, Any]:
    path = study_dir.data_dir() / "fingerprint.json"
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
