"""What a new user meets around `run`: storage inside --results-dir, `next:` hints that paste back,
a changed search space refused (or extended on request), plain progress lines in a log."""

from __future__ import annotations

import hashlib
import io
import shlex
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from rich.console import Console
from typer.testing import CliRunner

from conftest import TINY_SPACE
from mammosearch.cli import app
from mammosearch.cli.app import next_hint, resolve_storage
from mammosearch.store.record import context_of

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow
runner = CliRunner()
EXE = str(Path(sys.executable).parent / "mammosearch")
BAR_CHARACTERS = "━─█▏▕╸╺"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hint(output: str) -> list[str]:
    """The printed `next:` command as argv, without the leading `mammosearch`."""
    lines = [line for line in output.splitlines() if line.startswith("next: ")]
    assert len(lines) == 1, output
    argv = shlex.split(lines[0].removeprefix("next: "))
    assert argv[0] == "mammosearch", lines[0]
    return argv[1:]


def _space(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SPACE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def results_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One real run with a non-default --results-dir and no --storage, through the command line (not a TTY)."""
    root = tmp_path_factory.mktemp("results_run")
    results = root / "elsewhere"
    result = runner.invoke(app, ["run", "--space", str(_space(root)), "--results-dir", str(results), "--n-trials", "2"])
    assert result.exit_code == 0, result.output
    return {"root": root, "results": results, "output": result.output}


# --- 1. --results-dir keeps the default storage -------------------------------------------


def test_resolve_storage_defaults_inside_the_results_dir_and_an_explicit_url_wins(tmp_path):
    assert resolve_storage(None, Path("results")) == "sqlite:///results/mammosearch.db"
    assert resolve_storage(None, tmp_path / "x") == f"sqlite:///{tmp_path / 'x' / 'mammosearch.db'}"
    assert resolve_storage("postgresql://u@h/db", tmp_path / "x") == "postgresql://u@h/db"


def test_run_with_results_dir_writes_its_study_inside_it(results_run):
    assert (results_run["results"] / "mammosearch.db").is_file()
    assert not (results_run["root"] / "results").exists()


def test_report_and_export_find_the_study_with_results_dir_alone(results_run, tmp_path):
    results = str(results_run["results"])
    report = runner.invoke(app, ["report", "--results-dir", results, "--format", "json"])
    assert report.exit_code == 0, report.output
    assert '"tiny"' in report.output
    out = tmp_path / "exported"
    export = runner.invoke(app, ["export-best", "--results-dir", results, "--out", str(out)])
    assert export.exit_code == 0, export.output
    assert (out / "model_card.json").is_file()


def test_report_without_the_results_dir_does_not_find_a_study_kept_elsewhere(results_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 4 and "no storage at sqlite:///results/mammosearch.db: its folder does not exist" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "results").exists()  # reading never creates a storage


# --- 2. `next:` hints repeat the flags the next command needs ----------------------------


def test_the_next_hint_pastes_back_and_finds_the_study(results_run):
    argv = _hint(results_run["output"])
    assert argv[:3] == ["report", "--study", "tiny"]
    assert argv[argv.index("--results-dir") + 1] == str(results_run["results"])
    assert "--storage" not in argv  # the default for that --results-dir: not repeated
    again = runner.invoke(app, argv)
    assert again.exit_code == 0, again.output
    assert "Leaderboard" in again.output and "tiny" in again.output


def test_the_next_hint_names_an_explicit_storage_and_still_works(tmp_path):
    storage = f"sqlite:///{tmp_path / 'my db' / 'study.db'}"  # a space: the hint must quote it
    results = tmp_path / "res"
    run = runner.invoke(app, ["run", "--space", str(_space(tmp_path)), "--storage", storage, "--results-dir", str(results), "--n-trials", "1"])
    assert run.exit_code == 0, run.output
    argv = _hint(run.output)
    assert argv[argv.index("--storage") + 1] == storage
    assert argv[argv.index("--results-dir") + 1] == str(results)
    assert runner.invoke(app, argv).exit_code == 0


def test_the_next_hint_masks_a_password_and_leaves_defaults_out():
    hint = next_hint("report", study="s", storage="postgresql://alice:hunter2@db/x", results_dir=Path("results"))
    assert "hunter2" not in hint and "alice:***@db/x" in hint and "--results-dir" not in hint
    assert next_hint("report", study="s", storage="sqlite:///results/mammosearch.db", results_dir=Path("results")) == "mammosearch report --study s"
    assert shlex.split(next_hint("report", study="a b", storage="sqlite:///r/mammosearch.db", results_dir=Path("r"))) == [
        "mammosearch", "report", "--study", "a b", "--results-dir", "r"]


def test_every_next_hint_in_the_source_goes_through_next_hint():
    """A hand-written `next:` line would forget the flags again."""
    src = Path(__file__).resolve().parents[2] / "src" / "mammosearch"
    hand_written = [str(p) for p in src.rglob("*.py") if '"next:' in p.read_text() and p != src / "cli" / "app.py"]
    assert hand_written == [], hand_written


# --- 3. a changed search space is refused unless --extend-space ---------------------------


def _run(tmp_path: Path, *extra: str):
    storage = f"sqlite:///{tmp_path / 'space.db'}"
    return runner.invoke(app, ["run", "--space", str(_space(tmp_path)), "--storage", storage, "--results-dir", str(tmp_path / "res"), *extra])


def _attrs(tmp_path: Path) -> dict:
    return optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'space.db'}").user_attrs


def test_a_changed_space_is_refused_listing_each_difference_and_nothing_is_written(tmp_path):
    assert _run(tmp_path, "--n-trials", "1").exit_code == 0
    db = tmp_path / "space.db"
    before = _sha(db)
    result = _run(tmp_path, "--n-trials", "2", "--set", "training.epochs=3", "--set", "model.cnn.filters=[4, 8, 16]", "--set", "data.n_images=120")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = result.output
    assert "study 'tiny' was run with another search space" in text
    assert "  training.epochs: 2 -> 3" in text
    assert "  model.cnn.filters: [4, 8] -> [4, 8, 16]" in text
    assert "  data.n_images: 96 -> 120" in text
    assert "--extend-space" in text and "--study NEW_NAME" in text
    assert len([line for line in text.splitlines() if " -> " in line]) == 3  # one line per key, nothing else
    assert _sha(db) == before


def test_n_trials_and_timeout_still_resume_the_same_space(tmp_path):
    assert _run(tmp_path, "--n-trials", "1").exit_code == 0
    again = _run(tmp_path, "--n-trials", "2", "--timeout", "600")
    assert again.exit_code == 0, again.output
    assert "1 new trial, 2 finished" in again.output
    assert "space_extensions" not in _attrs(tmp_path)


def test_extend_space_adds_trials_under_the_new_space_and_records_it(tmp_path):
    assert _run(tmp_path, "--n-trials", "1").exit_code == 0
    extended = _run(tmp_path, "--n-trials", "2", "--set", "training.epochs=1", "--extend-space")
    assert extended.exit_code == 0, extended.output
    assert "note: search space extended with --extend-space after 1 finished trial" in extended.output
    assert "training.epochs: 2 -> 1" in extended.output
    context = context_of(_attrs(tmp_path))
    assert context.search_space is not None and context.search_space["training.epochs"] == "1"
    assert context.space_extensions is not None and len(context.space_extensions) == 1
    assert context.space_extensions[0]["changes"] == ["training.epochs: 2 -> 1"]
    assert context.space_extensions[0]["finished_before"] == 1
    # The new space is now the study's: it resumes without the flag, and the old one is refused.
    assert _run(tmp_path, "--n-trials", "3", "--set", "training.epochs=1").exit_code == 0
    old = _run(tmp_path, "--n-trials", "4")
    assert old.exit_code == 2 and "training.epochs: 1 -> 2" in old.output
    assert len(context_of(_attrs(tmp_path)).space_extensions or []) == 1


def test_extend_space_on_an_unchanged_or_new_study_records_no_extension(tmp_path):
    first = _run(tmp_path, "--n-trials", "1", "--extend-space")
    assert first.exit_code == 0, first.output
    assert _run(tmp_path, "--n-trials", "1", "--extend-space").exit_code == 0
    attrs = _attrs(tmp_path)
    assert "space_extensions" not in attrs and "search space extended" not in first.output
    assert context_of(attrs).search_space is not None


def test_a_study_from_before_spaces_were_recorded_is_resumed_and_its_space_recorded(tmp_path):
    optuna.create_study(storage=f"sqlite:///{tmp_path / 'space.db'}", study_name="tiny", direction="maximize")
    result = _run(tmp_path, "--n-trials", "1")
    assert result.exit_code == 0, result.output
    assert context_of(_attrs(tmp_path)).search_space is not None


def test_another_study_name_starts_fresh_under_the_new_space(tmp_path):
    assert _run(tmp_path, "--n-trials", "1").exit_code == 0
    other = _run(tmp_path, "--n-trials", "1", "--set", "training.epochs=1", "--study", "tiny-1epoch")
    assert other.exit_code == 0, other.output


def test_recycled_children_of_an_extended_study_pass_the_check(tmp_path):
    """Each recycled child re-opens the study with its own trial budget: the same space to the check."""
    assert _run(tmp_path, "--n-trials", "1").exit_code == 0
    extended = _run(tmp_path, "--n-trials", "3", "--set", "training.epochs=1", "--extend-space", "--trials-per-process", "1")
    assert extended.exit_code == 0, extended.output
    assert "2 new trials, 3 finished" in extended.output
    assert len(context_of(_attrs(tmp_path)).space_extensions or []) == 1


def test_workers_are_refused_once_or_extend_once(tmp_path):
    space = _space(tmp_path)
    base = [EXE, "run", "--space", str(space), "--results-dir", str(tmp_path / "res")]
    assert runner.invoke(app, ["run", "--space", str(space), "--results-dir", str(tmp_path / "res"), "--n-trials", "1"]).exit_code == 0
    refused = subprocess.run([*base, "--n-trials", "3", "--workers", "2", "--set", "training.epochs=1"], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "training.epochs: 2 -> 1" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "res" / "tiny" / "workers").exists()  # refused before any worker started
    extended = subprocess.run([*base, "--n-trials", "3", "--workers", "2", "--set", "training.epochs=1", "--extend-space"],
                              capture_output=True, text=True, timeout=600)
    assert extended.returncode == 0, extended.stdout[-2000:] + extended.stderr[-2000:]
    context = context_of(optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'res' / 'mammosearch.db'}").user_attrs)
    assert len(context.space_extensions or []) == 1  # recorded by the parent, not once per worker


# --- 4. progress without a terminal: plain lines, no bar ----------------------------------


def test_progress_in_a_log_is_plain_trial_lines_without_a_bar(results_run):
    output = results_run["output"]
    assert not any(ch in output for ch in BAR_CHARACTERS), output
    lines = output.splitlines()
    for number in (0, 1):
        assert any(line.startswith(f"trial {number} cnn") and "started (2 epochs" in line for line in lines), output
        assert any(line.startswith(f"trial {number} cnn") and ": complete val AUC" in line and "trials finished" in line for line in lines), output


def _fake_trial(number: int, value: float) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(value=value, params={}, distributions={}, user_attrs={"best_epoch": 1})


def test_epoch_lines_are_throttled_and_a_terminal_still_gets_bars():
    from mammosearch.report import RichStudyListener
    from mammosearch.spec import AugmentationParams, CnnParams, TrialParams

    params = TrialParams(family="cnn", input_size=32, optimizer="adam", learning_rate=1e-3, batch_size=8, epochs=3,
                         augmentation=AugmentationParams(), cnn=CnnParams(filters=4, kernel_size=3, dense_units=8, dropout=0.2))

    def drive(console: Console, every: float) -> str:
        with RichStudyListener(console, epoch_line_every=every) as listener:
            listener.on_study_start("s", 0, 2, "data", ())
            listener.on_trial_start(0, params)
            for epoch in (1, 2, 3):
                listener.on_epoch(epoch, 3, {"val_auc": 0.5})
            listener.on_trial_end(_fake_trial(0, 0.7))
        return console.file.getvalue()  # type: ignore[attr-defined]

    every_epoch = drive(Console(file=io.StringIO(), force_terminal=False, width=60), 0.0)
    assert "trial 0 cnn f4 k3 d8: epoch 2/3, val AUC 0.5000" in every_epoch
    throttled = drive(Console(file=io.StringIO(), force_terminal=False, width=60), 3600.0)
    assert ": epoch" not in throttled and "trial 0 cnn f4 k3 d8: complete val AUC 0.7000" in throttled
    assert not any(ch in every_epoch + throttled for ch in BAR_CHARACTERS)
    assert all(len(line) > 0 for line in throttled.splitlines())
    terminal = drive(Console(file=io.StringIO(), force_terminal=True, width=100), 0.0)
    assert "━" in terminal and ": epoch" not in terminal
