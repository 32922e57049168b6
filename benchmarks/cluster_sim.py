"""A cluster on one machine: W real worker processes on one study in PostgreSQL, trials that only sleep.

    python benchmarks/cluster_sim.py                                  # 1, 8 and 64 workers, 2 s trials
    python benchmarks/cluster_sim.py --workers 64 --trials-per-worker 6
    python benchmarks/cluster_sim.py --storage postgresql+psycopg2://user:pw@db/optuna
    python benchmarks/cluster_sim.py --base main --workers 1 8 64 --trials-per-worker 3   # a commit and this tree, alternating

What a worker on a cluster node does, minus Keras: the study is set up once
(``search.study.setup_study``, the real set-up), then W processes each open the prepared
study (``search.opened.open_prepared``, with the project's storage opening, heartbeats
every 60 s as ``run`` has them, sampler and pruner) and run the real trial loop
(``search.loop.run_trials``: ``SearchObjective`` samples the parameters, records the
outcome several times, keeps the top K models on disk, and stops at the shared budget).
Only the Keras fit (and the memory plan, which would import Keras for it) is replaced: ``TrialRunner._run`` sleeps ``--trial-seconds``, split
over the space's epochs, reporting each epoch to the pruner as a real trial does, and
fills the outcome with metrics of random scores on the real validation set (so the
records written are as large as real ones). The space is ``search_spaces/full.yaml``'s
(every family, both heads, fine-tuning: TPE's largest conditional space), with pruning
off so every trial lasts the same time.

Workers are forked from one parent after the imports (copy-on-write: 64 of them fit in
a few GB), wait at a barrier after opening the study, and start their loops together.
Printed per worker count W:
  trials/s     completed trials over the wall time from the barrier to the last worker's exit
  ideal        W / trial-seconds: every worker asleep in a trial all the time
  efficiency   trials/s over ideal
  overhead     per trial, a worker's loop time not spent asleep (sampling, storage, CPU waits)
  sampler      per trial, time inside the sampler (TPE reads the trials and fits its model)
  db           per trial, SQL statements, commits (each a disk flush on the server), and the
               time the worker spent waiting on the statements
  conn         per trial, database connections opened (a server process forked each time)
  cpu          per trial, the worker's own CPU time (user + system)
  server       per trial, the PostgreSQL server's CPU time (where it runs on this machine)
  load         the 1-minute load average when the workers started and when the last ended
With ``--base COMMIT`` each worker count runs on that commit, then on this tree, each in a
fresh interpreter (a detached worktree under /tmp), so both meet the same load. At the end:
the cores that 64 workers on 2-second trials need for their own loops and for the server,
from the CPU per trial measured at the fewest workers (where the workers are not starved).
The goal (issue 24): at 64 workers, at least 90% of the ideal for 2-second trials. On a
machine with fewer cores than workers the workers' CPU time queues: compare ``cpu`` x W
with the cores to tell CPU starvation from storage waits.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_STORAGE = "postgresql+psycopg2://mammosearch:mammosearch@127.0.0.1:5432/mammosearch_test"  # .ci/run's server

SPACE = """
study: {{name: {name}, sampler: tpe, pruner: none, n_trials: {n_trials}, seed: 0, keep_top_k: 5}}
data: {{source: synthetic, n_images: 96, image_size: 32, difficulty: 0.5, split: {{validation: 0.25, test: 0.25, seed: 0}}}}
model:
  families: [cnn, vgg16, resnet50]
  heads: [dense_bn_dropout, gap_dropout]
  input_size: 32
  weights: none
  cnn: {{filters: [16, 32, 64], kernel_size: [3, 5], dense_units: {{low: 32, high: 256, log: true}}, dropout: {{low: 0.1, high: 0.6}}}}
  head: {{dense_units: [64, 128, 256], dropout: {{low: 0.2, high: 0.6}}}}
training:
  optimizer: [adam, rmsprop]
  learning_rate: {{low: 1.0e-4, high: 3.0e-3, log: true}}
  batch_size: 32
  epochs: {epochs}
  fine_tune: [false, true]
  unfrozen_layers: {{low: 2, high: 16}}
  fine_tune_learning_rate: {{low: 1.0e-6, high: 1.0e-4, log: true}}
  fine_tune_epochs: 5
  augmentation: {{flip: true, rotation: [0.0, 0.05], zoom: [0.0, 0.1]}}
"""


def space_of(name: str, n_trials: int, epochs: int, root: Path) -> Any:
    from mammosearch.config import parse_space

    return parse_space(SPACE.format(name=name, n_trials=n_trials, epochs=epochs), str(root / f"{name}.yaml"), root)


def install_sleep_runner(trial_seconds: float, epochs: int) -> None:
    """Replace the Keras fit (and only it) by a sleep; everything around it is the project's code."""
    import numpy as np
    import optuna

    import mammosearch.search._objective as objective  # replaces the trial runner inside the module
    from mammosearch import runtime
    from mammosearch.metrics import score_split
    from mammosearch.spec import Trained
    from mammosearch.trial import TrialRunner

    class SleepRunner(TrialRunner):
        slept = 0.0

        def _run(self, trial: Any, outcome: Any) -> Trained:
            rng = np.random.default_rng(trial.number)
            val = self.folds[0].val
            labels = self.images.labels[val]
            for epoch in range(epochs):
                started = time.perf_counter()
                time.sleep(trial_seconds / epochs)
                SleepRunner.slept += time.perf_counter() - started
                outcome.history.append({"loss": float(rng.random()), "val_auc": float(rng.random())})
                trial.report(float(rng.random()), step=epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            scores = rng.random(len(labels))
            outcome.val_metrics = score_split(labels, scores)
            outcome.best_epoch = outcome.epochs_trained = epochs
            outcome.fit_seconds = outcome.trial_seconds = trial_seconds

            def save_model(trial_dir: Path) -> None:
                trial_dir.mkdir(parents=True, exist_ok=True)
                (trial_dir / "model.keras").write_bytes(b"\0" * 4096)

            record = {"indices": [int(i) for i in np.flatnonzero(val)], "scores": [float(s) for s in scores]}
            return Trained(save_model, {"val": record})

    objective.TrialRunner = SleepRunner  # type: ignore[misc]
    runtime.configure = lambda precision="float32": "sleep objective (no Keras)"  # type: ignore[assignment]
    # The memory plan sizes Keras batches by building (or importing) Keras: a real worker has
    # Keras loaded by then (runtime.configure), a sleeping one would import TensorFlow for it
    # alone (about 5 s of CPU per worker on this machine, counted as trial overhead).
    import mammosearch.search.loop as loop  # replaces the memory plan inside the module

    loop.batch_caps = lambda space, channels: None  # type: ignore[assignment]


class ServerCpu:
    """CPU seconds of the PostgreSQL server's processes on this machine since construction (None where unreadable).

    Live processes' CPU plus what the postmaster has reaped from backends that ended (a
    connection closed); other clients of the same server count too.
    """

    def __init__(self) -> None:
        self.start = self._now()

    @staticmethod
    def _now() -> float | None:
        import psutil

        total, found = 0.0, False
        for process in psutil.process_iter(["name"]):
            if process.info["name"] not in ("postgres", "postmaster"):
                continue
            try:
                times = process.cpu_times()
                total += times.user + times.system
                parent = process.parent()
                if parent is None or parent.name() not in ("postgres", "postmaster"):
                    total += times.children_user + times.children_system
                found = True
            except (psutil.Error, OSError):
                continue
        return total if found else None

    def seconds(self) -> float | None:
        now = self._now()
        return None if now is None or self.start is None else now - self.start


class _Clock:
    """SQL statements and the time spent waiting on them, and time inside the sampler, in this process."""

    def __init__(self) -> None:
        self.db_seconds = 0.0
        self.db_statements = 0
        self.commits = 0
        self.connects = 0
        self.sampler_seconds = 0.0

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        from mammosearch.search import TrialSeededSampler

        starts: list[float] = []

        @event.listens_for(Engine, "before_cursor_execute")
        def _before(*args: Any) -> None:
            starts.append(time.perf_counter())

        @event.listens_for(Engine, "after_cursor_execute")
        def _after(*args: Any) -> None:
            if starts:
                self.db_seconds += time.perf_counter() - starts.pop()
                self.db_statements += 1

        @event.listens_for(Engine, "commit")
        def _commit(*args: Any) -> None:
            self.commits += 1

        @event.listens_for(Engine, "connect")
        def _connect(*args: Any) -> None:
            self.connects += 1

        clock = self
        for method in ("infer_relative_search_space", "sample_relative", "sample_independent", "before_trial", "after_trial"):
            original = getattr(TrialSeededSampler, method)

            def timed(*args: Any, _original: Any = original) -> Any:
                started = time.perf_counter()
                try:
                    return _original(*args)
                finally:
                    clock.sampler_seconds += time.perf_counter() - started

            setattr(TrialSeededSampler, method, timed)


def worker_options(options: Any) -> Any:
    """``options`` as a real worker has them (``search/joining.py``): with the set-up's order token, so that the
    loop looks for a new set-up between trials (a read of the study's attributes per trial); as they are on a
    tree without order tokens."""
    import dataclasses

    import optuna

    if "order_token" not in {f.name for f in dataclasses.fields(options)}:
        return options
    from mammosearch.store import open_storage
    from mammosearch.store.record import order_of

    storage = open_storage(options.storage_url, create=False)
    try:
        order = order_of(optuna.load_study(study_name=options.study_name, storage=storage).user_attrs)
    finally:
        storage.engine.dispose()  # type: ignore[attr-defined]
    return options if order is None else dataclasses.replace(options, order_token=order.token)


def setup(space: Any, options: Any) -> None:
    from mammosearch.search import setup_study

    setup_study(space, options)


def _worker(index: int, space: Any, options: Any, barrier: Any, results: Any, trial_seconds: float, epochs: int) -> None:
    try:
        results.put(_work(index, space, options, barrier, trial_seconds, epochs))
    except BaseException as exc:  # a worker that cannot start must not leave the others at the barrier
        barrier.abort()
        results.put({"index": index, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"})


def _work(index: int, space: Any, options: Any, barrier: Any, trial_seconds: float, epochs: int) -> dict[str, Any]:
    import optuna

    from mammosearch.search import open_prepared, run_trials

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    os.environ["MAMMOSEARCH_WORKER"] = str(index)
    install_sleep_runner(trial_seconds, epochs)
    import mammosearch.search._objective as objective  # replaces the trial runner inside the module

    clock = _Clock()
    options = worker_options(options)
    opening = time.perf_counter()
    prepared = open_prepared(space, options)
    opening = time.perf_counter() - opening
    clock.install()  # after opening: the loop's statements only
    barrier.wait(timeout=600)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    before = {t.number for t in prepared.study.get_trials(deepcopy=False)}
    statements_before, commits_before, connects_before = clock.db_statements, clock.commits, clock.connects
    run_trials(prepared, space, options, None)
    ended = time.perf_counter()
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    mine = [t for t in prepared.study.get_trials(deepcopy=False) if t.number not in before and t.user_attrs.get("process", "").endswith(f":{os.getpid()}")]
    return {
        "index": index, "started": started, "ended": ended, "trials": len(mine),
        "slept": objective.TrialRunner.slept,  # type: ignore[attr-defined]
        "sampler": clock.sampler_seconds, "db": clock.db_seconds, "statements": clock.db_statements - statements_before,
        "commits": clock.commits - commits_before, "connects": clock.connects - connects_before,
        "cpu": (cpu_end.ru_utime - cpu.ru_utime) + (cpu_end.ru_stime - cpu.ru_stime),
        "opening": opening, "keras": "keras" in sys.modules,
    }


def measure(workers: int, trials_per_worker: int, trial_seconds: float, epochs: int, storage: str, root: Path) -> dict[str, Any]:
    """One study, ``workers`` processes, ``workers * trials_per_worker`` trials; the figures of the table."""
    import optuna

    from mammosearch.search import RunOptions

    name = f"cluster-sim-{workers}-{uuid.uuid4().hex[:6]}"
    n_trials = workers * trials_per_worker
    space = space_of(name, n_trials, epochs, root)
    options = RunOptions(storage_url=storage, results_dir=root / "results", study_name=name, heartbeat=60, trials_per_process=None)
    context = mp.get_context("fork")
    # Set-up in a child too: the parent never holds a database connection its forks would share.
    setting_up = context.Process(target=setup, args=(space, options))
    setting_up.start()
    setting_up.join()
    if setting_up.exitcode != 0:
        raise SystemExit(f"set-up failed (exit {setting_up.exitcode})")
    barrier = context.Barrier(workers + 1)
    results = context.Queue()
    processes = [context.Process(target=_worker, args=(i, space, options, barrier, results, trial_seconds, epochs)) for i in range(workers)]
    for process in processes:
        process.start()
    try:
        barrier.wait(timeout=600)
    except threading.BrokenBarrierError:
        pass  # a worker could not start: its error is in the queue
    released = time.perf_counter()
    server = ServerCpu()
    load_before = os.getloadavg()[0]
    reports = [results.get(timeout=600 + 20 * n_trials * trial_seconds / workers) for _ in processes]
    server_cpu, load_after = server.seconds(), os.getloadavg()[0]
    for process in processes:
        process.join()
    errors = sorted({r["error"] for r in reports if "error" in r})
    if errors:
        raise SystemExit(f"{workers} workers: {sum('error' in r for r in reports)} failed: " + "; ".join(errors))
    wall = max(r["ended"] for r in reports) - released
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    ran = sum(r["trials"] for r in reports) or 1

    def per_trial(key: str) -> float:
        return sum(r[key] for r in reports) / ran

    loop = sum(r["ended"] - r["started"] for r in reports)
    return {
        "workers": workers, "trials": len(complete), "wall": wall,
        "per_second": len(complete) / wall, "ideal": workers / trial_seconds, "trial_seconds": trial_seconds,
        "overhead": (loop - sum(r["slept"] for r in reports)) / ran,
        "sampler": per_trial("sampler"), "statements": per_trial("statements"), "db": per_trial("db"),
        "commits": per_trial("commits"), "connects": per_trial("connects"), "cpu": per_trial("cpu"),
        "server_cpu": None if server_cpu is None else server_cpu / ran,
        "opening": sum(r["opening"] for r in reports) / workers, "keras": any(r["keras"] for r in reports),
        "load": (load_before, load_after), "not_complete": len(trials) - len(complete),
    }


HEADER = (f"{'tree':<10} {'workers':>7} {'trials':>6} {'wall s':>7} {'trials/s':>8} {'ideal':>6} {'effic.':>6} {'overhead':>9} {'sampler':>8} "
          f"{'db stmts':>8} {'commits':>7} {'conn':>5} {'db wait':>8} {'cpu':>7} {'server':>7} {'load':>9}")


def show(tree: str, row: dict[str, Any]) -> None:
    server = "      -" if row["server_cpu"] is None else f"{row['server_cpu'] * 1000:>5.0f}ms"
    print(f"{tree:<10} {row['workers']:>7} {row['trials']:>6} {row['wall']:>7.1f} {row['per_second']:>8.2f} {row['ideal']:>6.1f} "
          f"{row['per_second'] / row['ideal']:>6.0%} {row['overhead'] * 1000:>7.0f}ms {row['sampler'] * 1000:>6.0f}ms "
          f"{row['statements']:>8.0f} {row['commits']:>7.0f} {row['connects']:>5.2f} {row['db'] * 1000:>6.0f}ms {row['cpu'] * 1000:>5.0f}ms {server} "
          f"{row['load'][0]:>4.0f}->{row['load'][1]:<3.0f}"
          + (f"  ({row['not_complete']} trials not complete)" if row["not_complete"] else "")
          + ("  (a worker imported Keras)" if row["keras"] else ""), flush=True)


def cores_needed(tree: str, rows: list[dict[str, Any]], workers: int, trial_seconds: float) -> None:
    """What ``workers`` workers on ``trial_seconds`` trials need in CPU, at the per-trial CPU measured at the fewest workers (the least starved)."""
    row = min(rows, key=lambda r: r["workers"])
    rate = workers / trial_seconds
    server = row["server_cpu"] or 0.0
    print(f"{tree}: {row['cpu'] * 1000:.0f} ms of a worker's CPU and {server * 1000:.0f} ms of the server's per trial (at {row['workers']} "
          f"worker{'s' if row['workers'] > 1 else ''}): {workers} workers on {trial_seconds:g}-s trials ({rate:g} trials/s) need "
          f"{rate * row['cpu']:.1f} cores for the workers' own loops (spread over their nodes) and {rate * server:.1f} for the database server")


def run_side(src: Path, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    """This script at ``workers`` in a fresh interpreter on the tree at ``src``; its row."""
    command = [sys.executable, __file__, "--src", str(src), "--json", "--workers", str(workers), "--trials-per-worker", str(args.trials_per_worker),
               "--trial-seconds", str(args.trial_seconds), "--epochs", str(args.epochs), "--storage", args.storage]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def checkout(commit: str) -> Path:
    """A detached worktree of ``commit`` under /tmp (made once, reused); its ``src``."""
    root = HERE.parent
    sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", commit], check=True, capture_output=True, text=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"mammosearch-base-{sha}"
    if not path.exists():
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(path), sha], check=True, capture_output=True)
    return path / "src"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--trial-seconds", type=float, default=2.0)
    parser.add_argument("--trials-per-worker", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=10, help="pruner reports per trial (a real trial reports each epoch)")
    parser.add_argument("--storage", default=os.environ.get("MAMMOSEARCH_TEST_POSTGRES", DEFAULT_STORAGE))
    parser.add_argument("--base", help="a commit to run first at each worker count (alternating with this tree), in fresh interpreters")
    parser.add_argument("--src", default=str(HERE.parent / "src"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json:
        sys.path.insert(0, args.src)
        # Imported once here, so the forked workers share these pages instead of importing 64 times.
        import optuna  # noqa: F401

        import mammosearch.search  # noqa: F401  (its face loads the loop, the opened study and the set-up)

        with tempfile.TemporaryDirectory(prefix="cluster-sim-") as tmp:
            for workers in args.workers:
                print(json.dumps(measure(workers, args.trials_per_worker, args.trial_seconds, args.epochs, args.storage, Path(tmp))), flush=True)
        return 0
    sys.path.insert(0, str(HERE.parent / "src"))
    from mammosearch.store import mask_url

    print(f"storage {mask_url(args.storage)}; {args.trial_seconds:g} s trials, {args.epochs} reports each, "
          f"{args.trials_per_worker} trials per worker; {os.cpu_count()} CPUs on this machine, load average {os.getloadavg()[0]:.1f} before", flush=True)
    print(HEADER)
    sides = ([(f"{args.base}", checkout(args.base))] if args.base else []) + [("this tree", HERE.parent / "src")]
    rows: dict[str, list[dict[str, Any]]] = {tree: [] for tree, _ in sides}
    for workers in args.workers:
        for tree, src in sides:
            row = run_side(src, workers, args)
            rows[tree].append(row)
            show(tree, row)
    for tree, _ in sides:
        cores_needed(tree, rows[tree], max(64, *args.workers), args.trial_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
