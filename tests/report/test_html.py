"""`report --html`: one self-contained page, user text escaped, and a real browser renders it."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammosearch.cli import app
from mammosearch.report import build_report
from mammosearch.report.html import render_html, write_html
from mammosearch.store import load_study, record
from report_studies import NAME, make_study

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

runner = CliRunner()
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class Tables(HTMLParser):
    """Every table's rows of cell texts, by the table's id (tables without one are skipped)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            if self._table:
                self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(page: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


@pytest.fixture
def built(tmp_path):
    storage = make_study(tmp_path)
    study_record = load_study(storage, NAME)
    report = build_report(study_record, tmp_path / "results")
    return study_record, report, write_html(study_record, report, tmp_path / "results")


def test_the_page_is_one_file_with_every_plot_inlined_and_nothing_fetched(built):
    _, report, path = built
    page = path.read_text(encoding="utf-8")
    pngs = [p for p in report.files if p.suffix == ".png"]
    assert {p.name for p in pngs} >= {"roc_top.png", "roc_test_top.png", "confusion_best.png", "confusion_best_test.png", "history.png", "importance.png"}
    inlined = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(data) for data in inlined) == sorted(p.read_bytes() for p in pngs)
    # Nothing that makes a browser fetch: no URL in src/href, no stylesheet link, no CSS import or url().
    assert not re.search(r'(src|href)="(?!data:)', page) and "<link" not in page and "@import" not in page and "url(" not in page
    assert path.parent == report.files[0].parent and path.name == "report.html"


def test_user_text_is_escaped_everywhere(built):
    _, _, path = built
    page = path.read_text(encoding="utf-8")
    # The study name, data description, decode recipe, fingerprint warnings, duplicate file names,
    # the model path and a fail reason all carry <script>: none of it may reach the page as markup.
    assert "<script" not in page.lower()
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert page.count(escaped) >= 7
    for where in ("ward " + escaped + " study", "folder " + escaped + " with 80 images", "decode: Pillow, " + escaped,
                  "fingerprint warning " + escaped, "a" + escaped + ".png", "out of memory " + escaped, "model0" + escaped + ".keras"):
        assert where in page, where


def test_the_page_holds_the_leaderboard_families_card_fingerprint_estimates_and_baselines(built):
    study_record, report, path = built
    page = path.read_text(encoding="utf-8")
    tables = tables_of(page)
    board = tables["leaderboard"]
    ranked = study_record.ranked()
    assert len(board) == 1 + len(ranked)  # header and one row per complete trial
    header = board[0]
    trials = [row[header.index("trial")] for row in board[1:]]
    assert trials == [str(r.number) for r in ranked]
    flags = {row[header.index("trial")]: row[header.index("flag")] for row in board[1:]}
    assert flags == {"0": "", "1": "near-collapsed", "2": ""}
    best = ranked[0]
    for text in (
        "Per family", "Test split, top trials", "Hyper-parameter importance", "Best trial (model card facts)", "Data fingerprint",
        f"{best.val_metrics.youden_threshold:.3f} (Youden&#x27;s J on the validation split",  # the recommended threshold
        "trivial baseline (intensity histogram)", "linear probe (vgg16, block5_pool)",  # the baselines
        f"honest figure: trial {best.number}&#x27;s test AUC", "batch_size", "learning_rate",
        "fingerprint warning", "1 pair(s) within pHash distance 12",
    ):
        assert text in page, text
    assert f"{report.honest_test['auc']:.3f}" in page  # type: ignore[index]


def test_a_run_stopped_by_its_time_limit_is_said_on_the_page(tmp_path):
    storage = make_study(tmp_path)
    import optuna

    record.save_run_end(optuna.load_study(study_name=NAME, storage=storage), record.RunEnd(record.STOPPED_BY_TIMEOUT, 90.0, 3))
    study_record = load_study(storage, NAME)
    page = render_html(study_record, build_report(study_record, tmp_path / "r", write_files=False))
    assert "stopped by its time limit (--timeout of 90 s)" in page


def test_report_writes_the_page_by_default_prints_its_path_and_not_with_no_html(tmp_path):
    storage = make_study(tmp_path)
    results = tmp_path / "results"
    args = ["report", "--storage", storage, "--results-dir", str(results)]
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    pages = list(results.rglob("report.html"))
    assert len(pages) == 1 and f"html report: {pages[0]}" in result.output
    pages[0].unlink()
    as_json = runner.invoke(app, [*args, "--format", "json"])
    assert as_json.exit_code == 0 and '"study"' in as_json.stdout and "html report" not in as_json.stdout
    assert pages[0].is_file()
    pages[0].unlink()
    quiet = runner.invoke(app, [*args, "--no-html"], env={"COLUMNS": "300"})
    assert quiet.exit_code == 0 and "html report" not in quiet.output and not pages[0].exists()


# --- in a real browser ----------------------------------------------------------------------

def _browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def _require_browser() -> str:
    browser = _browser()
    if browser is None:
        pytest.skip(f"no headless browser found (looked for {', '.join(BROWSERS)} on PATH); .ci/run installs Debian's chromium")
    return browser


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    browser = _require_browser()
    # --no-sandbox: CI runs as root, where Chromium refuses its sandbox; the page is our own file.
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", *args]
    env = {**os.environ, "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)


def _screenshot(page: Path, out: Path) -> np.ndarray:
    done = _chromium(f"--screenshot={out}", "--window-size=1200,2000", page.as_uri())
    assert out.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-1500:]}"
    with Image.open(out) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def _looks_blank(pixels: np.ndarray) -> bool:
    non_white = float((pixels < 240).mean())
    return non_white < 0.02 or float(pixels.std()) < 10


def test_chromium_renders_the_page_with_the_leaderboard(request, tmp_path):
    _require_browser()  # before the study: skipping should not cost a training run
    tiny_study = request.getfixturevalue("tiny_study")
    result = runner.invoke(app, ["report", "--storage", tiny_study["storage"], "--results-dir", str(tiny_study["results"])], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    page = tiny_study["results"] / "tiny" / "report" / "report.html"
    pixels = _screenshot(page, tmp_path / "page.png")
    assert pixels.shape == (2000, 1200)
    assert not _looks_blank(pixels), f"screenshot looks blank: {(pixels < 240).mean():.3%} non-white, std {pixels.std():.1f}"
    # The check itself can fail: an empty page is blank to it.
    empty = tmp_path / "empty.html"
    empty.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    assert _looks_blank(_screenshot(empty, tmp_path / "empty.png"))

    dom = _chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-1500:]
    board = tables_of(dom.stdout)["leaderboard"]
    best = load_study(tiny_study["storage"], "tiny").ranked()[0]
    assert board[0][:2] == ["#", "trial"] and board[1][:2] == ["1", str(best.number)]
    assert len(board) == 1 + 3


# --- what fits a 1280 px window --------------------------------------------------------------

WINDOW = 1280
YOUDEN_TITLES = ("Youden thr", "Youden sens", "Youden spec", "Youden F1")
# Appended to a copy of the page (whose own policy runs no script): writes where each leaderboard
# header cell ends, as laid out by the browser, and where its scrolling box ends, into the DOM.
MEASURE = (
    "<script>const box = document.querySelector('#leaderboard').parentElement.getBoundingClientRect();"
    "const cells = [...document.querySelectorAll('#leaderboard thead th')].map(th => [th.textContent, th.getBoundingClientRect().right]);"
    "document.body.setAttribute('data-layout', JSON.stringify({box: box.right, window: window.innerWidth, cells}));</script>"
)


def _widest_board(report):
    """The report with every page column filled for each trial, in the longest form it takes (a fine-tuned transfer study under CV with a test split)."""
    import dataclasses

    board = report.leaderboard.copy()
    board["head"] = "dense_bn_dropout"
    board["unfrozen_layers"] = 12
    board["fine_tune_learning_rate"] = 0.000123456
    board["pooled_oof_auc"] = 0.6543
    board["learning_rate"] = 0.000398107
    board["family"] = "resnet50"
    return dataclasses.replace(report, leaderboard=board)


def test_the_page_leaves_the_05_threshold_columns_to_the_csv_and_keeps_the_youden_ones(tmp_path):
    from mammosearch.report.html import CV_AUC_COLUMNS, LEADERBOARD, page_columns

    storage = make_study(tmp_path)
    study_record = load_study(storage, NAME)
    report = _widest_board(build_report(study_record, tmp_path / "r", write_files=False))
    titles = [t for t, _ in page_columns(report.leaderboard)]
    # Every page column has a value here; with pooled out-of-fold AUCs it is the cross-validation
    # layout, where each AUC brings its own spread (fold SD, pooled CI) instead of one shared CI.
    widest = [c for t, k in LEADERBOARD if t != "95% CI" for c in CV_AUC_COLUMNS.get(k or "", [(t, k)])]
    assert titles == [t for t, _ in widest]
    assert set(YOUDEN_TITLES) <= set(titles) and not any("0.5" in t for t in titles)
    assert "val_accuracy_05" in report.leaderboard.columns  # ... which stay in leaderboard.csv, and the page says so
    page = render_html(study_record, report)
    assert "leaderboard.csv holds every column" in page and tables_of(page)["leaderboard"][0] == titles
    # A CNN study without folds: no empty head, fine-tuning or pooled-AUC columns take the width.
    plain = [t for t, _ in page_columns(build_report(study_record, tmp_path / "r", write_files=False).leaderboard)]
    assert {"head", "fine-tuning", "pooled OOF AUC"}.isdisjoint(plain) and set(YOUDEN_TITLES) <= set(plain)


def test_chromium_lays_the_widest_leaderboard_out_within_1280_px(tmp_path):
    import json

    _require_browser()
    storage = make_study(tmp_path)
    study_record = load_study(storage, NAME)
    page = render_html(study_record, _widest_board(build_report(study_record, tmp_path / "r", write_files=False)))
    probe = tmp_path / "measured.html"
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page).replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium(f"--window-size={WINDOW},900", "--dump-dom", probe.as_uri())
    found = re.search(r'data-layout="([^"]*)"', dom.stdout)
    assert found, f"the measuring script left nothing (exit {dom.returncode}): {dom.stderr[-1500:]}"
    layout = json.loads(found.group(1).replace("&quot;", '"'))
    assert layout["window"] == WINDOW
    right = {title: edge for title, edge in layout["cells"]}
    assert set(YOUDEN_TITLES) | {"test AUC"} <= set(right)
    assert max(right.values()) <= min(layout["box"], WINDOW), right  # nothing scrolled off or cut at the window's edge


def test_the_warnings_box_holds_the_data_checks_and_the_page_reads_as_prose(built):
    study_record, _, path = built
    page = path.read_text(encoding="utf-8")
    box = re.search(r'<section id="warnings">.*?</section>', page, re.S)
    assert box and "data check: fingerprint warning" in box.group(0)  # a shortcut baseline's warning is one of these
    assert page.count("fingerprint warning") == 1  # not repeated in the fingerprint section
    card = re.search(r'<section id="model-card">.*?</section>', page, re.S)
    assert card and "learning rate" in card.group(0) and "learning_rate" not in card.group(0)
    importance = re.search(r'<section id="importance">.*?</section>', page, re.S)
    assert importance and "computed from only 3 complete trials" in importance.group(0)


def test_the_fine_tuning_cell_says_frozen_for_feature_extraction_and_dash_without_a_backbone():
    from mammosearch.report.html._page import _fine_tuning

    assert _fine_tuning({"family": "vgg16", "unfrozen_layers": None}) == "frozen"  # as the terminal leaderboard says
    assert _fine_tuning({"family": "cnn", "unfrozen_layers": None}) == "-"
    assert _fine_tuning({"family": "resnet50", "unfrozen_layers": 4, "fine_tune_learning_rate": 1e-5}).startswith("top 4, lr ")


def test_counts_agree_with_their_noun():
    from mammosearch.words import plural

    assert (plural(1, "trial"), plural(0, "trial"), plural(3, "complete trial")) == ("1 trial", "0 trials", "3 complete trials")
