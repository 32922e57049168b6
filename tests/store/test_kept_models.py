"""The top-K rule with workers that finish trials at the same time: a kept model is never removed by another's decision."""

from __future__ import annotations

from pathlib import Path

import optuna

from mammosearch.spec import Trained, TrialOutcome
from mammosearch.store.artifact_store import KeptArtifacts, parse_location
from mammosearch.store.artifacts import StudyDir
from mammosearch.store.kept_models import keep_if_top_k, sweep_dropped
from mammosearch.store.record import trial_files

optuna.logging.set_verbosity(optuna.logging.ERROR)


def _trained(then=lambda: None) -> Trained:
    def save(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.keras").write_bytes(b"a model")
        then()  # what another worker does while this one writes and uploads its model

    return Trained(save_model=save, predictions={"validation": []})


def _in_store(store: Path) -> set[str]:
    return {p.name for p in store.iterdir()}


def test_a_trial_that_completes_while_another_keeps_its_model_keeps_its_files_in_the_store(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="race", direction="maximize")
    artifacts = KeptArtifacts(parse_location(store.as_uri()), writing=True)
    node_a, node_b = StudyDir(tmp_path / "node_a", "race"), StudyDir(tmp_path / "node_b", "race")

    def finish(trial: optuna.trial.Trial, value: float, node: StudyDir, trained: Trained) -> None:
        keep_if_top_k(study, trial.number, value, TrialOutcome(), trained, node, k=1, artifacts=artifacts, trial=trial)
        study.tell(trial, value)

    def files_of(number: int) -> set[str]:
        frozen = study.get_trials(deepcopy=False)[number]
        return set(trial_files(frozen.user_attrs, study.user_attrs, number).values())

    first = study.ask()
    finish(first, 0.5, node_a, _trained())
    assert files_of(0) and files_of(0) <= _in_store(store)

    # Node A's trial (0.6) read the complete trials (only trial 0) before node B's trial (0.9)
    # completed: B's trial finishes while A is writing its model.
    slow, fast = study.ask(), study.ask()
    finish(slow, 0.6, node_a, _trained(then=lambda: finish(fast, 0.9, node_b, _trained())))

    best = files_of(fast.number)
    assert best and best <= _in_store(store)  # the best trial's files survived A's decision, made without it
    assert files_of(slow.number) <= _in_store(store)  # A kept its own trial: in the top 1 of what it had read
    assert not files_of(first.number) & _in_store(store)  # pushed out by both, and removed

    # At the end of its trials a worker sweeps what finished at the same time: A's trial is out.
    sweep_dropped(study, artifacts, k=1)
    assert _in_store(store) == best
