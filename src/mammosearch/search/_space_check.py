"""One study, one search space: a resumed study whose space has changed is refused, or extended on request.

Optuna itself would happily mix trials sampled from two spaces (a wider learning-rate
range, a new family, other data) in one study, and the leaderboard would then rank trials
that do not mean the same thing. So the first run records the space in the study, and a
later run compares: same space, go on; a different one, stop with the differences listed,
unless ``--extend-space`` says the change is wanted, which is recorded with the study.
Which space a new study holds is decided in the storage, atomically, by the run that
creates it (``settle_space``): two runs started at once cannot both record theirs.

"The space" is what decides what a trial means: the parameter distributions, the data and
its split, the checks that alter images, training and evaluation settings. Left out is what
only decides how many trials run, which points are tried or what is kept (``LEFT_OUT``):
those change legitimately on resume (``--n-trials``, ``--timeout``), and recycled children
and ``--workers`` processes receive a space whose budget was rewritten for them.

``--extend-space`` extends what a trial tries (model and training parameters, whatever
their kind: a parameter Optuna cannot keep under its name is sampled under a versioned one,
trial/param_names.py), never what a trial is scored on (``NOT_EXTENDABLE``): the data, its
split and checks, the cross-validation and the objective. Trials scored on other images or
by another figure cannot be ranked together, and a run records the data's context (the
CV pool, the baseline, the training patients) anew, so the old trials' stored scores would
be read against another pool. Such a change is refused in one line, having written nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import optuna

from mammosearch.config import Space
from mammosearch.errors import SpaceError
from mammosearch.search._space_leaves import canonical_space, default_leaves, under
from mammosearch.search.options import RunOptions
from mammosearch.store import open_storage
from mammosearch.store.record import StudyContext, context_of, save_param_names, save_search_space
from mammosearch.trial import choose_names, first_distributions, space_distributions
from mammosearch.words import plural

# Key paths (and everything under them) that decide what a trial is scored on: changing one
# is a new study, never an extension of this one.
NOT_EXTENDABLE = (
    "data",
    "split",
    "checks.photometry",  # flips images: other pixels
    "evaluation",  # cross-validation or not, its folds
    "study.objective",  # the figure trials are ranked by
)
MAX_LISTED = 20
ABSENT = "(not recorded)"


def not_extendable(changes: tuple[str, ...]) -> tuple[str, ...]:
    """The changes (``key.path: old -> new``) that ``--extend-space`` refuses."""
    return tuple(change for change in changes if under(change.split(":", 1)[0], NOT_EXTENDABLE))


def space_differences(recorded: Mapping[str, str], current: Mapping[str, str], defaults: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """``key.path: old -> new``, one per key that differs, in key order; a key the record predates differs only from its default."""
    changes = []
    for key in sorted(set(recorded) | set(current)):
        old, new = recorded.get(key, ABSENT), current.get(key, ABSENT)
        if old == ABSENT and defaults is not None and key in defaults and new == defaults[key]:
            continue
        if old != new:
            changes.append(f"{key}: {old} -> {new}")
    return tuple(changes)


@dataclasses.dataclass(frozen=True)
class SpaceCheck:
    """What ``settle_space`` found: the space of this run, the recorded one, and how they differ."""

    current: dict[str, str]
    recorded: dict[str, str] | None  # None: a new study, or one recorded before spaces were
    changes: tuple[str, ...] = ()
    extensions: tuple[dict[str, Any], ...] = ()  # the study's earlier --extend-space records
    # {plain: versioned} Optuna names the study's trials are to sample under now, and as recorded.
    param_names: dict[str, str] = dataclasses.field(default_factory=dict)
    recorded_names: dict[str, str] = dataclasses.field(default_factory=dict)


def refusal(study_name: str, changes: tuple[str, ...]) -> str:
    listed = [f"  {change}" for change in changes[:MAX_LISTED]]
    if len(changes) > MAX_LISTED:
        listed.append(f"  ... and {len(changes) - MAX_LISTED} more")
    frozen = not_extendable(changes)
    advice = (
        "pass --extend-space to add trials under the new space (the change is recorded in the study), "
        "or use --study NEW_NAME to start a new study"
        if not frozen else
        f"--extend-space cannot add these trials ({_keys(frozen)} decide what every trial is scored on); "
        "use --study NEW_NAME to start a new study"
    )
    return "\n".join([
        f"study '{study_name}' was run with another search space; resuming it would mix two spaces in one study:",
        *listed,
        advice,
    ])


def _keys(changes: tuple[str, ...]) -> str:
    keys = [change.split(":", 1)[0] for change in changes]
    return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")


def extension_refusal(study_name: str, frozen: tuple[str, ...]) -> str:
    """One line: the changes --extend-space does not extend, and what to do instead."""
    shown = "; ".join(frozen[:3]) + (f"; ... {len(frozen) - 3} more" if len(frozen) > 3 else "")
    return (f"study '{study_name}' cannot be extended to this space: {shown} would score its new trials on other "
            "data or by another figure than its earlier ones (nothing was written); use --study NEW_NAME to start a new study")


# How long a run that finds a study created a moment ago by another run waits for that
# run to record its space (it does so right after creating the study: milliseconds, unless
# the database is locked by other writers). A study still without a space after this is
# treated as one from before spaces were recorded.
CREATOR_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1


class _StoredStudy:
    """A study in ``storage`` as the sink ``save_search_space`` writes to, before any Study object exists."""

    def __init__(self, storage: optuna.storages.BaseStorage, study_id: int) -> None:
        self.storage, self.study_id = storage, study_id

    def set_user_attr(self, key: str, value: Any) -> None:
        self.storage.set_study_user_attr(self.study_id, key, value)


def settle_space(space: Space, options: RunOptions, name: str) -> SpaceCheck:
    """Decide, atomically in the storage, that study ``name`` holds trials of one space.

    A new study is created here, and the run that creates it records its space before
    anything else: Optuna's ``create_new_study`` is the one primitive every backend makes
    atomic (a unique name), so of several runs started at once on a new study exactly one
    creates it. The others get ``DuplicatedStudyError``, wait for the creator's space to be
    recorded, and compare as for any resumed study: the same space goes on, another one is
    refused (:class:`SpaceError`) unless ``--extend-space`` asks for the change. A refused
    run has written nothing.
    """
    current = canonical_space(space)
    storage = open_storage(options.storage_url)
    try:
        study_id = storage.get_study_id_from_name(name)
    except KeyError:
        try:
            study_id = storage.create_new_study([optuna.study.StudyDirection.MAXIMIZE], name)
        except optuna.exceptions.DuplicatedStudyError:
            study_id = storage.get_study_id_from_name(name)  # another run created it a moment ago
        else:
            save_search_space(_StoredStudy(storage, study_id), current, None)
            return SpaceCheck(current, current)
    recorded = _recorded_space(storage, study_id)
    distributions = space_distributions(space)
    drawn = first_distributions(storage.get_all_trials(study_id, deepcopy=False))
    names = choose_names(distributions, drawn)
    if recorded is None:
        return SpaceCheck(current, None, param_names=names)
    changes = space_differences(recorded.search_space or {}, current, default_leaves(space))
    if changes and not options.extend_space:
        raise SpaceError(refusal(name, changes))
    frozen = not_extendable(changes)
    if frozen:
        raise SpaceError(extension_refusal(name, frozen))
    if options.engine == "kerastuner":
        _refuse_kerastuner_change(name, distributions, drawn)
    return SpaceCheck(current, dict(recorded.search_space or {}), changes, tuple(recorded.space_extensions or ()),
                      names, dict(recorded.param_names or {}))


def _refuse_kerastuner_change(study_name: str, current: Mapping[str, Any], drawn: Mapping[str, Any]) -> None:
    """KerasTuner's oracle, reloaded from its folder, keeps each hyper-parameter as it first declared it
    (``HyperParameters._retrieve``): a changed range or choice list would be silently never tried."""
    changed = sorted(n for n, distribution in current.items() if drawn.get(n) not in (None, distribution))
    if changed:
        raise SpaceError(f"study '{study_name}' cannot be extended under --engine kerastuner: its oracle keeps the "
                         f"hyper-parameters as first declared ({', '.join(changed)}), so the new values would never be "
                         "tried (nothing was written); use --study NEW_NAME, or the optuna engine")


def _recorded_space(storage: optuna.storages.BaseStorage, study_id: int) -> StudyContext | None:
    """The study's context once its space is recorded; None for a study from before spaces were.

    A study with nothing in it yet (no attribute, no trial) was most likely created a moment
    ago by a concurrent run that is about to record its space: wait for it.
    """
    deadline = time.monotonic() + CREATOR_WAIT_SECONDS
    while True:
        attrs = storage.get_study_user_attrs(study_id)
        context = context_of(attrs)
        if context.search_space is not None:
            return context
        fresh = not attrs and not storage.get_all_trials(study_id, deepcopy=False)
        if not fresh or time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)


def record_space(study: optuna.Study, check: SpaceCheck, finished_before: int) -> None:
    """Record the space of a new study, or an extension of an existing one, and the parameter names its trials sample under.

    Nothing is written for an unchanged space whose names are as recorded. The names are
    written whenever they differ, also without a change of space: a study extended by a
    version that did not yet version names holds the new space and trials of the old one.
    """
    renamed = {plain: name for plain, name in check.param_names.items() if check.recorded_names.get(plain) != name}
    if check.param_names != check.recorded_names:
        save_param_names(study, check.param_names)
    extensions = [dict(ext) for ext in check.extensions]
    if check.recorded is not None and not check.changes:
        if renamed and extensions and "renamed" not in extensions[-1]:
            # That older extension's summary line now says how its changed parameters are sampled.
            extensions[-1]["renamed"] = renamed
            save_search_space(study, check.current, extensions)
        return
    if check.changes:
        extensions.append({
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "finished_before": finished_before,
            "changes": list(check.changes),
            **({"renamed": renamed} if renamed else {}),
        })
    save_search_space(study, check.current, extensions or None)


def _finished(count: Any) -> str:
    return plural(count, "finished trial") if isinstance(count, int) else f"{count or '?'} finished trials"


def extension_notes(extensions: list[dict[str, Any]] | None) -> tuple[str, ...]:
    """One line per recorded --extend-space, for the run summary: the study mixes spaces, and how."""
    notes = []
    for ext in extensions or ():
        changes = [str(change) for change in ext.get("changes", [])]
        shown = "; ".join(changes[:3]) + (f"; ... {len(changes) - 3} more" if len(changes) > 3 else "")
        renamed = ext.get("renamed")
        sampled = "".join(f"; new trials sample {plain} as {name} in Optuna (its choices or kind changed)"
                          for plain, name in sorted(renamed.items())) if isinstance(renamed, dict) else ""
        notes.append(f"search space extended with --extend-space after {_finished(ext.get('finished_before'))} "
                     f"({ext.get('at', 'time not recorded')}): {shown}{sampled}")
    return tuple(notes)
