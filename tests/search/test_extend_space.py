"""`run --extend-space`: a categorical extended as in the README, a study an older
version extended and left unable to resume, and the changes that are refused instead."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from typer.testing import CliRunner

from conftest import TINY_SPACE
from mammosearch.cli import app
from mammosearch.config import parse_space
from mammosearch.errors import SpaceError
from mammosearch.search import RunOptions
from mammosearch.search._space_check import SpaceCheck, canonical_space, record_space, settle_space, space_differences
from mammosearch.store.record import context_of, param_names_of
from mammosearch.trial import choose_names, plain_name, sample_params, space_distributions

optuna.logging.set_verbosity(optuna.logging.ERROR)

# Trains real models (or runs the CLI that does): left out of the fast subset, `pytest -m "not slow"`.
pytestmark = pytest.mark.slow
runner = CliRunner()
EXTENDED = TINY_SPACE.replace("filters: [4, 8]", "filters: [4, 8, 16]")
OLD, NEW = CategoricalDistribution([4, 8]), CategoricalDistribution([4, 8, 16])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- which name a parameter is sampled under ---------------------------------------------


def test_a_changed_categorical_gets_the_next_version_and_a_compatible_change_keeps_its_name():
    assert choose_names({"cnn_filters": NEW}, {"cnn_filters": OLD}) == {"cnn_filters": "cnn_filters@2"}
    # Back to the old choices: the old name again, so the sampler learns from those trials.
    assert choose_names({"cnn_filters": OLD}, {"cnn_filters": OLD, "cnn_filters@2": NEW}) == {}
    assert choose_names({"cnn_filters": NEW}, {"cnn_filters": OLD, "cnn_filters@2": NEW}) == {"cnn_filters": "cnn_filters@2"}
    third = CategoricalDistribution([4, 8, 16, 32])
    assert choose_names({"cnn_filters": third}, {"cnn_filters": OLD, "cnn_filters@2": NEW}) == {"cnn_filters": "cnn_filters@3"}
    # Optuna accepts a wider range under the same name; not a log switch or another kind.
    assert choose_names({"lr": FloatDistribution(1e-4, 1e-2, log=True)}, {"lr": FloatDistribution(1e-3, 3e-3, log=True)}) == {}
    assert choose_names({"lr": FloatDistribution(1e-4, 1e-2)}, {"lr": FloatDistribution(1e-3, 3e-3, log=True)}) == {"lr": "lr@2"}
    assert choose_names({"units": IntDistribution(8, 64)}, {"units": CategoricalDistribution([8, 16])}) == {"units": "units@2"}
    assert choose_names({"new_param": NEW}, {"cnn_filters": OLD}) == {}
    assert [plain_name(n) for n in ("cnn_filters@2", "cnn_filters", "a@b")] == ["cnn_filters", "cnn_filters", "a@b"]


def test_every_branch_of_the_space_is_declared_with_its_distribution():
    found = space_distributions(parse_space(TINY_SPACE))
    assert found == {"learning_rate": FloatDistribution(1e-3, 3e-3, log=True), "cnn_filters": OLD}


def test_a_versioned_name_lets_one_storage_hold_both_choice_lists_and_tpe_sample_the_new_one(tmp_path):
    """Optuna refuses the old name with new choices (the crash); under the versioned name TPE samples every new choice."""
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=2))
    old, new = parse_space(TINY_SPACE), parse_space(EXTENDED)
    study.optimize(lambda t: float(sample_params(t, old).cnn.filters), n_trials=4)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="dynamic value space"):
        sample_params(study.ask(), new)
    names = choose_names(space_distributions(new), {n: d for t in study.trials for n, d in t.distributions.items()})
    assert names == {"cnn_filters": "cnn_filters@2"}
    drawn: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        cnn = sample_params(trial, new, names).cnn
        assert cnn is not None
        drawn.append(cnn.filters)
        return float(cnn.filters)  # the larger the better: TPE has something to learn

    study.optimize(objective, n_trials=12)
    assert set(drawn) == {4, 8, 16}
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sum("cnn_filters" in t.params for t in complete) == 4 and sum("cnn_filters@2" in t.params for t in complete) == 12


# --- refused before anything is written --------------------------------------------------


def _options(tmp_path: Path, **changes) -> RunOptions:
    return RunOptions(storage_url=f"sqlite:///{tmp_path / 's.db'}", results_dir=tmp_path / "r", **changes)


@pytest.mark.parametrize("change", [
    ("n_images: 96", "n_images: 120"),
    ("split: {validation: 0.25, test: 0.25, seed: 0}", "split: {validation: 0.25, test: 0.25, seed: 1}"),
    ("  source: synthetic\n", "  source: synthetic\n  photometry: as_is\n"),
    ("  epochs: 2\n", "  epochs: 2\nevaluation: {cv_folds: 3}\n"),
])
def test_a_change_of_what_trials_are_scored_on_is_refused_even_with_extend_space(tmp_path, change):
    settle_space(parse_space(TINY_SPACE), _options(tmp_path), "tiny")
    before = _sha(tmp_path / "s.db")
    with pytest.raises(SpaceError) as refused:
        settle_space(parse_space(EXTENDED.replace(*change)), _options(tmp_path, extend_space=True), "tiny")
    message = str(refused.value)
    assert "\n" not in message and "cannot be extended" in message and "--study NEW_NAME" in message
    assert "model.cnn.filters" not in message  # only what blocks the extension is named
    assert _sha(tmp_path / "s.db") == before
    # Without the flag the full list is shown, and the advice does not point at --extend-space.
    with pytest.raises(SpaceError, match="--extend-space cannot add these trials") as listed:
        settle_space(parse_space(EXTENDED.replace(*change)), _options(tmp_path), "tiny")
    assert "model.cnn.filters: [4, 8] -> [4, 8, 16]" in str(listed.value)


# --- a study an older version extended: the space recorded, the trials unable to go on ---


def test_a_study_left_by_the_old_crashing_extension_resumes(tmp_path):
    from mammosearch.search import run_study

    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(TINY_SPACE, encoding="utf-8")
    options = _options(tmp_path, trials_per_process=None)
    # Written as the old code wrote it: the first run's space (recorded by the run that creates the study) and trials...
    settle_space(parse_space(TINY_SPACE), options, "tiny")
    study = optuna.load_study(study_name="tiny", storage=options.storage_url)
    old = parse_space(TINY_SPACE, str(space_file), tmp_path)
    study.optimize(lambda t: float(sample_params(t, old).learning_rate), n_trials=2)
    # ...then `--extend-space` recorded the new space and its extension, and its first trial
    # died in the storage's check (FAIL, holding the learning rate drawn before the crash).
    new = parse_space(EXTENDED, str(space_file), tmp_path)
    changes = space_differences(canonical_space(old), canonical_space(new))
    record_space(study, SpaceCheck(canonical_space(new), canonical_space(old), changes), 2)
    with pytest.raises(ValueError, match="dynamic value space"):
        study.optimize(lambda t: float(sample_params(t, new).learning_rate), n_trials=1)
    assert param_names_of(study.user_attrs) == {}

    summary = run_study(new, dataclasses.replace(options, study_name="tiny"))
    assert summary.new_trials == 1
    assert any("new trials sample cnn_filters as cnn_filters@2" in note for note in summary.notes), summary.notes
    trials = optuna.load_study(study_name="tiny", storage=options.storage_url).get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert [sorted(t.params) for t in trials[-1:]] == [["cnn_filters@2", "learning_rate"]]
    assert param_names_of(optuna.load_study(study_name="tiny", storage=options.storage_url).user_attrs) == {"cnn_filters": "cnn_filters@2"}


# --- the README's example, end to end through the command line ---------------------------


def test_the_readme_extension_of_a_categorical_runs_resumes_and_reports_both_spaces(tmp_path):
    space = tmp_path / "tiny.yaml"
    space.write_text(TINY_SPACE, encoding="utf-8")
    base = ["run", "--space", str(space), "--results-dir", str(tmp_path / "res")]
    wider = ["--set", "model.cnn.filters=[4, 8, 16]"]
    assert runner.invoke(app, [*base, "--n-trials", "1"]).exit_code == 0
    refused = runner.invoke(app, [*base, "--n-trials", "2", *wider])
    assert refused.exit_code == 2 and "model.cnn.filters: [4, 8] -> [4, 8, 16]" in refused.output
    extended = runner.invoke(app, [*base, "--n-trials", "2", *wider, "--extend-space"])
    assert extended.exit_code == 0, extended.output
    assert "new trials sample cnn_filters as cnn_filters@2" in " ".join(extended.output.split())
    again = runner.invoke(app, [*base, "--n-trials", "3", *wider])  # the new space is the study's now
    assert again.exit_code == 0, again.output
    assert "1 new trial, 3 finished" in again.output
    report = runner.invoke(app, ["report", "--results-dir", str(tmp_path / "res")])
    assert report.exit_code == 0, report.output
    for output in (extended.output, again.output, report.output):
        assert "Traceback" not in output
    rows = (tmp_path / "res" / "tiny" / "report" / "trials.csv").read_text().splitlines()[1:]
    assert sorted(int(row.split(",")[0]) for row in rows) == [0, 1, 2]
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'res' / 'mammosearch.db'}")
    assert [sorted(t.params) for t in study.trials] == [["cnn_filters", "learning_rate"]] + [["cnn_filters@2", "learning_rate"]] * 2
    context = context_of(study.user_attrs)
    assert context.param_names == {"cnn_filters": "cnn_filters@2"}
    assert context.space_extensions is not None and context.space_extensions[0]["renamed"] == {"cnn_filters": "cnn_filters@2"}


def test_the_kerastuner_engine_refuses_a_changed_parameter_its_oracle_would_ignore(tmp_path):
    """KerasTuner's reloaded oracle keeps `cnn_filters` as [4, 8]: extending it there would never try 16."""
    options = _options(tmp_path, engine="kerastuner", extend_space=True)
    settle_space(parse_space(TINY_SPACE), options, "tiny-kt")
    study = optuna.load_study(study_name="tiny-kt", storage=options.storage_url)
    study.optimize(lambda t: float(sample_params(t, parse_space(TINY_SPACE)).learning_rate), n_trials=1)
    before = _sha(tmp_path / "s.db")
    with pytest.raises(SpaceError, match=r"cannot be extended under --engine kerastuner: .*\(cnn_filters\)"):
        settle_space(parse_space(EXTENDED), options, "tiny-kt")
    assert _sha(tmp_path / "s.db") == before
    # A change KerasTuner does not sample (a fixed value) still extends.
    assert settle_space(parse_space(TINY_SPACE.replace("epochs: 2", "epochs: 1")), options, "tiny-kt").changes
