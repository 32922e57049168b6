"""A study written before the metrics were typed still reports, and the table of rates drives every view.

``stored/study_before_typed_metrics.json`` holds trials' user attributes exactly as the code of
commit 37548dd stored them (``stored/write_study_before_typed_metrics.py`` made it with that
code). They go into a real Optuna storage as raw attributes, never through today's
``store/record.py``, so the test reads what an old study holds, not what today writes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from rich.console import Console

from mammosearch.apply.card import model_card_markdown
from mammosearch.report import build_report
from mammosearch.report.html import render_html
from mammosearch.report.terminal import print_report
from mammosearch.spec import RATES
from mammosearch.store import load_study
from report_studies import NAME, make_study

OLD = json.loads((Path(__file__).parent / "stored" / "study_before_typed_metrics.json").read_text(encoding="utf-8"))
OLD_NAME = "before typed metrics"


@pytest.fixture
def old_study(tmp_path: Path) -> str:
    storage = f"sqlite:///{tmp_path / 'old.db'}"
    study = optuna.create_study(storage=storage, study_name=OLD_NAME, direction="maximize")
    for key, value in OLD["study_attrs"].items():
        study.set_user_attr(key, value)
    lr = optuna.distributions.FloatDistribution(1e-5, 1e-2, log=True)
    for trial in OLD["trials"]:
        attrs = trial["user_attrs"]
        study.add_trial(optuna.trial.create_trial(value=trial["value"], params={"learning_rate": attrs["params"]["learning_rate"]},
                                                  distributions={"learning_rate": lr}, user_attrs=attrs))
    return storage


def _rows(path: Path) -> dict[int, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {int(row["trial"]): row for row in csv.DictReader(handle)}


def _same(cell: str, value: Any) -> bool:
    return cell == "" if value is None else float(cell) == pytest.approx(float(value))


def _kept(stored: Any, again: Any) -> bool:
    """Whether ``again`` holds everything ``stored`` holds, at every depth (it may hold more)."""
    if isinstance(stored, dict):
        return isinstance(again, dict) and all(k in again and _kept(v, again[k]) for k, v in stored.items())
    return bool(stored == again)


def test_an_old_studys_stored_metrics_read_back_unchanged(old_study):
    record = load_study(old_study, OLD_NAME)
    for row, trial in zip(record.rows, OLD["trials"]):
        for split in ("val_metrics", "test_metrics"):
            stored = trial["user_attrs"].get(split)
            typed = getattr(row, split)
            if stored is None:
                assert typed is None
                continue
            # Every stored key comes back with its stored value; only rates the table gained since are added.
            assert _kept(stored, typed.to_record()), split
    assert record.rows[2].val_metrics is not None and record.rows[2].val_metrics.fold_aucs == (0.71, 0.64, 0.69)


def test_an_old_study_still_reports_every_rate_of_the_table(old_study, tmp_path):
    record = load_study(old_study, OLD_NAME)
    report = build_report(record, tmp_path / "r")
    written = {p.name: p for p in report.files}
    trials = _rows(written["trials.csv"])
    for number, trial in enumerate(OLD["trials"]):
        val, test = trial["user_attrs"]["val_metrics"], trial["user_attrs"].get("test_metrics")
        for rate in RATES:
            # A rate stored then is read as stored; one added to the table since comes from the stored confusion counts.
            for column, at in ((f"val_{rate.key}_05", val["at_0.5"]), (f"val_{rate.key}_youden", val["at_youden"])):
                assert trials[number][column] != "" and _same(trials[number][column], rate.read(at)), column
            if test is not None:
                assert _same(trials[number][f"test_{rate.key}_youden"], rate.read(test["at_youden"])), rate.key
        assert _same(trials[number]["val_tp_05"], val["at_0.5"]["confusion_matrix"][1][1])
    assert _rows(written["leaderboard.csv"]).keys() == {0, 1, 2}
    console = Console(width=250, record=True, color_system=None)
    print_report(console, report)
    text = console.export_text()
    assert "Test split, top trials" in text and f"{OLD['trials'][0]['value']:.3f}" in text
    page = render_html(record, report)
    assert 'id="model-card"' in page and f"{OLD['trials'][0]['value']:.3f}" in page[page.index('id="model-card"'):]
    assert json.loads(written["report.json"].read_text())["best_trial"] == 0


def _headers(text: str, start: str) -> list[str]:
    """The header cells of the first table after ``start`` in an HTML page."""
    table = text[text.index(start):]
    head = table[table.index("<thead>"): table.index("</thead>")]
    return [cell.split(">", 1)[1] for cell in head.split("</th>")[:-1]]


def test_the_table_of_rates_drives_the_csv_json_terminal_html_and_model_card(tmp_path):
    storage = make_study(tmp_path)
    record = load_study(storage, NAME)
    report = build_report(record, tmp_path / "r", write_files=False)
    best = record.ranked()[0]
    val, test = best.val_metrics, best.test_metrics
    assert val is not None and val.at_05 is not None and val.at_youden is not None and test is not None and test.at_youden is not None
    top, listed = report.leaderboard.iloc[0], report.to_json()["leaderboard"][0]
    console = Console(width=250, record=True, color_system=None)
    print_report(console, report)
    text = console.export_text()
    board, test_split = text[text.index("Leaderboard"): text.index("Per family")], text[text.index("Test split"):]
    page = render_html(record, report)
    card = model_card_markdown({"metrics": {"validation": val.to_record(), "test": test.to_record()}})
    performance = card[card.index("## Performance"):].splitlines()
    card_titles = [cell.strip() for cell in performance[2].strip("|").split("|")]
    card_cells = [cell.strip() for cell in performance[4].strip("|").split("|")]
    for rate in RATES:
        # CSV and JSON: every rate at 0.5 and at Youden on validation, at the validation threshold on test.
        assert top[f"val_{rate.key}_05"] == listed[f"val_{rate.key}_05"] == val.at_05[rate], rate.key
        assert top[f"val_{rate.key}_youden"] == val.at_youden[rate] and top[f"test_{rate.key}_youden"] == test.at_youden[rate], rate.key
        # The terminal's leaderboard and test split (wide enough for every column), the HTML page's two tables.
        assert f" {rate.short} " in board.splitlines()[2] + " " and f" {rate.short} " in test_split.splitlines()[2] + " ", rate.key
        assert rate.label in _headers(page, 'id="test-split"') and rate.label in _headers(page, 'id="model-card"'), rate.key
        # The model card's performance table, at the recommended threshold.
        assert card_cells[card_titles.index(rate.label)] == rate.format(val.at_youden[rate]), rate.key
