"""Long stages report done/total and the time left, to whatever display the command installed; the run says where its time went."""

from __future__ import annotations

import io
import time

from rich.console import Console

from mammosearch import progress, progress_lines
from mammosearch.progress import FINISHED, StageEvent, reporting, stage
from mammosearch.report import StageDisplay, time_summary


class Collected:
    def __init__(self) -> None:
        self.events: list[StageEvent] = []

    def on_stage(self, event: StageEvent) -> None:
        self.events.append(event)


def test_nested_stages_are_timed_with_their_parents_and_the_time_left_follows_the_pace(monkeypatch):
    monkeypatch.setattr(progress, "UPDATE_EVERY", 0.0)
    sink = Collected()
    with reporting(sink) as timeline:
        with stage("set-up"):
            for _ in range(2):
                with stage("decode", 4, "files") as decode:
                    for _ in range(4):
                        time.sleep(0.01)
                        decode.advance()
        with stage("epoch 1/3", 10, "batches", timed=False) as batches:
            batches.advance(5)
    advanced = [e for e in sink.events if e.kind == "advanced" and e.name == "decode"]
    assert [e.done for e in advanced[:4]] == [1, 2, 3, 4] and all(e.parents == ("set-up",) for e in advanced)
    halfway = advanced[1]
    assert halfway.left is not None and abs(halfway.left - halfway.elapsed) < 1e-9  # 2 of 4 done: as long again
    assert advanced[3].left == 0.0
    stages = {(s.parents, s.name): s for s in timeline.stages()}
    assert stages[(("set-up",), "decode")].count == 2 and stages[(("set-up",), "decode")].seconds >= 0.08
    assert stages[((), "set-up")].seconds >= stages[(("set-up",), "decode")].seconds
    assert all(s.name != "epoch 1/3" for s in timeline.stages())  # progress only: not in the time summary
    # Nothing is reported, and nothing breaks, without a sink.
    with stage("alone", 1) as alone:
        alone.advance()


def test_a_relayed_stage_of_another_process_is_shown_and_timed_here():
    sink = Collected()
    with reporting(sink) as timeline, stage("trials in a child"):
        progress.relay(StageEvent(FINISHED, "activations", 64, 64, "images", 3.5, ("trials",)))
    assert sink.events[1].parents == ("trials in a child", "trials")
    assert any(s.name == "activations" and s.seconds == 3.5 for s in timeline.stages())


def _drive(display: StageDisplay, monkeypatch) -> str:
    monkeypatch.setattr(progress, "UPDATE_EVERY", 0.0)
    with reporting(display), stage("set-up"), stage("decode", 3, "files") as decode:
        for _ in range(3):
            time.sleep(0.01)
            decode.advance()
    return display.console.file.getvalue()  # type: ignore[attr-defined]


def test_without_a_terminal_progress_is_lines_throttled_per_stage(monkeypatch):
    every = _drive(StageDisplay(Console(file=io.StringIO(), force_terminal=False, width=60), None, line_every=0.0, finish_line_after=0.0), monkeypatch)
    lines = every.splitlines()
    assert "  decode: 2/3 files," in every and "about" in every and "left" in every
    assert "  decode: 3 files in" in every and lines[-1].startswith("set-up: done in")
    quiet = _drive(StageDisplay(Console(file=io.StringIO(), force_terminal=False, width=60), None), monkeypatch)
    assert quiet == ""  # short stages under the default thresholds: nothing, not a line per update
    assert progress_lines.LINE_EVERY == 10.0


def test_commands_without_a_display_of_their_own_stay_silent_in_a_pipe(monkeypatch):
    piped = _drive(StageDisplay.terminal_only(Console(file=io.StringIO(), force_terminal=False)), monkeypatch)
    assert piped == ""
    terminal = _drive(StageDisplay.terminal_only(Console(file=io.StringIO(), force_terminal=True, width=100)), monkeypatch)
    assert "decode" in terminal and "━" in terminal


def test_the_time_summary_lists_stages_nested_counts_and_what_is_left_over():
    from mammosearch.progress import StageTime

    stages = [
        StageTime("decode", ("set-up", "load data"), 7.9, 1), StageTime("load data", ("set-up",), 8.0, 1),
        StageTime("fingerprint", ("set-up",), 0.01, 1), StageTime("set-up", (), 9.0, 1),
        StageTime("activations", ("trials",), 30.0, 1), StageTime("trials", (), 95.0, 3),
    ]
    text = time_summary(stages, 110.0, 120.0)
    assert text == ("time: 1 min 50 s of a 2 min 00 s budget: set-up 9.0 s (load data 8.0 s (decode 7.9 s)); "
                    "trials 3 x, 1 min 35 s (activations 30.0 s); other 6.0 s")
