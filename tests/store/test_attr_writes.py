"""A trial's record in one transaction per save on a relational storage; one key at a time elsewhere."""

from __future__ import annotations

import os

import optuna
import pytest
from sqlalchemy import event

from mammosearch.spec import TrialOutcome
from mammosearch.store import open_storage, record

optuna.logging.set_verbosity(optuna.logging.ERROR)
ATTRS = {"params": {"family": "cnn", "lr": 0.001}, "history": [{"val_auc": 0.5}], "fit_seconds": 1.5, "model_path": "m.keras", "worker": 3}


def _storages(tmp_path):
    yield f"sqlite:///{tmp_path / 'batch.db'}"
    url = os.environ.get("MAMMOSEARCH_TEST_POSTGRES")
    if url:
        yield url


@pytest.mark.parametrize("which", ["sqlite", "postgresql"])
def test_one_commit_per_save_and_the_same_stored_values(tmp_path, which):
    url = dict(zip(["sqlite", "postgresql"], _storages(tmp_path))).get(which)
    if url is None:
        pytest.skip("MAMMOSEARCH_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server and sets it)")
    storage = open_storage(url, heartbeat=None)
    study = optuna.create_study(storage=storage, study_name=f"batch-{os.getpid()}-{tmp_path.name}", direction="maximize")
    commits: list[int] = []
    event.listen(storage.engine, "commit", lambda *args: commits.append(1))

    statements: list[str] = []
    event.listen(storage.engine, "before_cursor_execute", lambda conn, cursor, statement, *args: statements.append(statement))

    batched = study.ask()
    commits.clear()
    statements.clear()
    record.set_user_attrs(batched, ATTRS)
    assert len(commits) == 1  # five keys, one transaction
    # Two statements whatever the number of keys: the trial's state checked once, one multi-row upsert
    # (Optuna's own per-key method read the trial again before each key: ten here).
    assert len(statements) == 2 and statements[1].lstrip().upper().startswith("INSERT"), statements
    assert batched.user_attrs == ATTRS  # this process sees its own writes, as after set_user_attr

    one_by_one = study.ask()
    commits.clear()  # after ask(): its own commits are not the attributes'

    for key, value in ATTRS.items():
        one_by_one.set_user_attr(key, value)
    assert len(commits) == len(ATTRS)
    stored = {t.number: t.user_attrs for t in optuna.load_study(study_name=study.study_name, storage=url).trials}
    assert stored[batched.number] == stored[one_by_one.number] == ATTRS

    # An update of keys already there (the end-of-trial save) is an upsert, in one transaction too.
    commits.clear()
    record.set_user_attrs(batched, {"fit_seconds": 2.5, "model_path": "n.keras"})
    assert len(commits) == 1
    assert optuna.load_study(study_name=study.study_name, storage=url).trials[batched.number].user_attrs["model_path"] == "n.keras"


def test_a_finished_trial_refuses_the_batch_as_it_refuses_set_user_attr(tmp_path):
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path / 'done.db'}"), direction="maximize")
    trial = study.ask()
    study.tell(trial, 0.5)
    with pytest.raises(RuntimeError):  # optuna's UpdateFinishedTrialError
        record.set_user_attrs(trial, ATTRS)


def test_other_storages_and_stand_in_trials_get_one_key_at_a_time():
    study = optuna.create_study(direction="maximize")  # in memory: no transaction to share
    trial = study.ask()
    record.save(trial, TrialOutcome(fit_seconds=1.0, model_path="m.keras"))
    assert trial.user_attrs == {"step_unit": "epoch", "fit_seconds": 1.0, "model_path": "m.keras"}

    class StandIn:  # the KerasTuner engine's trial
        def __init__(self) -> None:
            self.attrs: dict = {}

        def set_user_attr(self, key, value) -> None:
            self.attrs[key] = value

    stand_in = StandIn()
    written: dict = {}
    record.save(stand_in, TrialOutcome(fit_seconds=1.0), written)
    record.save(stand_in, TrialOutcome(fit_seconds=2.0), written)
    assert stand_in.attrs == {"step_unit": "epoch", "fit_seconds": 2.0} == written
