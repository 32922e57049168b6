"""A trial left RUNNING (its process killed) is named with the hint that re-running the same command reclaims it."""

from __future__ import annotations

import optuna

from mammosearch.search import RunOptions
from mammosearch.search.study import summarize
from mammosearch.store import running_note


def test_the_run_summary_names_a_leftover_running_trial_with_the_reclaim_hint(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.tell(study.ask(), 0.7)
    study.ask()  # as a killed process leaves it: never told
    summary = summarize(study, RunOptions(storage_url=storage, results_dir=tmp_path / "results"), 0, "")
    hint = [note for note in summary.notes if "still marked running" in note]
    assert hint == ["1 trial still marked running: 1; if no run is going on (the one that started it was killed), run the same "
                    "`mammosearch run` command again: a trial without a heartbeat for two intervals (--heartbeat, default 60 s) is "
                    "marked failed and its parameters are tried again (with --heartbeat 0 it stays running)"]


def test_no_note_without_running_trials_and_a_long_list_is_cut():
    assert running_note([]) is None
    note = running_note(list(range(13)))
    assert note is not None and note.startswith("13 trials still marked running: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 3 more;")
