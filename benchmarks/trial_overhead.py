"""Where one worker's time between trials goes: CPU, wall time and SQL round trips per trial, by who spends them.

    python benchmarks/trial_overhead.py                      # 20 trials of 0.2 s on .ci/run's PostgreSQL
    python benchmarks/trial_overhead.py --base main~3        # the same, at another commit first, side by side
    python benchmarks/trial_overhead.py --storage postgresql+psycopg2://user:pw@db/optuna --trials 40

One worker, as ``benchmarks/cluster_sim.py`` runs 64 of them: the study is set up once (the
real set-up, in a child process), then this process opens it (``search.opened.open_prepared``,
heartbeats every 60 s) and runs the real trial loop (``search.loop.run_trials``) with the
Keras fit replaced by a sleep (``cluster_sim.install_sleep_runner``). Each part of a trial is
timed by wrapping its entry point; time and SQL inside a nested part count for the innermost
one only, so the rows add up:

  sampler        TPE (reads the study's trials, fits its model), also when called from ask or suggest
  suggest        Optuna writing each sampled parameter (a transaction per parameter)
  pruner         ``trial.report`` and ``should_prune`` per epoch (a transaction per report)
  ask / tell     Optuna creating the trial (and waiting-trial queue) and finishing it
  stale check    Optuna failing other workers' stale trials before each trial (heartbeats on)
  record         our writes of the trial's attributes (outcome, seed, worker stamp)
  param names    our read of the study's parameter names
  top-K          our decision which models to keep (reads the completed trials)
  budget         our check whether the study's budget is spent (reads the finished trials)
  new set-up?    our check whether the study was set up again (reads the study's attributes; workers only)
  gc             the collection after each trial (``gc_after_trial``)
  sleep          the stand-in for training
  other          the rest of the loop (building the outcome, metrics of the random scores, ...)

CPU is this thread's own (``time.thread_time``); the process total also counts the heartbeat
thread. ``server cpu`` is PostgreSQL's processes' CPU over the loop (where the server runs
on this machine and its processes are readable; other clients of the same server count too).
"""

from __future__ import annotations

import argparse
import gc
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
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cluster_sim  # noqa: E402  (the sleep runner, the space, the server's CPU)

ORDER = ("sampler", "suggest", "pruner", "ask", "tell", "stale check", "record", "param names", "top-K", "budget", "new set-up?", "gc", "sleep", "other")


class Ledger:
    """Exclusive CPU, wall time and SQL per part of a trial, on the main thread."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.sql: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.stack: list[str] = ["other"]
        self.main = threading.get_ident()
        self._mark = (time.thread_time(), time.perf_counter())

    def _charge(self) -> None:
        cpu, wall = time.thread_time(), time.perf_counter()
        self.cpu[self.stack[-1]] += cpu - self._mark[0]
        self.wall[self.stack[-1]] += wall - self._mark[1]
        self._mark = (cpu, wall)

    def wrap(self, owner: Any, attr: str, part: str) -> None:
        original = getattr(owner, attr, None)
        if original is None:
            return  # an older tree without it
        ledger = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != ledger.main:
                return original(*args, **kwargs)
            ledger._charge()
            ledger.stack.append(part)
            try:
                return original(*args, **kwargs)
            finally:
                ledger._charge()
                ledger.stack.pop()

        setattr(owner, attr, staticmethod(timed) if isinstance(owner.__dict__.get(attr), staticmethod) else timed)

    def count(self, what: str) -> None:
        part = self.stack[-1] if threading.get_ident() == self.main else "heartbeat thread"
        self.sql[part][what] += 1

    def install_sql(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", lambda *a: self.count("statements"))
        event.listen(Engine, "commit", lambda *a: self.count("commits"))
        event.listen(Engine, "connect", lambda *a: self.count("connects"))


def _instrument(ledger: Ledger) -> None:
    import optuna
    from optuna.study import _optimize

    import mammosearch.search._objective as objective
    import mammosearch.search.loop as loop

    try:
        import mammosearch.search._order_watch as order_watch
    except ImportError:  # a tree before workers looked for a new set-up between trials
        order_watch = None
    from mammosearch.search import TrialSeededSampler
    from mammosearch.store import record

    for method in ("infer_relative_search_space", "sample_relative", "sample_independent", "before_trial", "after_trial"):
        ledger.wrap(TrialSeededSampler, method, "sampler")
    ledger.wrap(optuna.trial.Trial, "_suggest", "suggest")
    ledger.wrap(optuna.trial.Trial, "report", "pruner")
    ledger.wrap(optuna.trial.Trial, "should_prune", "pruner")
    ledger.wrap(optuna.Study, "ask", "ask")
    ledger.wrap(_optimize, "_tell_with_warning", "tell")
    ledger.wrap(optuna.storages, "fail_stale_trials", "stale check")
    ledger.wrap(objective.SearchObjective, "_param_names", "param names")
    ledger.wrap(objective, "keep_if_top_k", "top-K")
    ledger.wrap(loop, "finished_trials", "budget")
    if order_watch is not None and hasattr(loop, "stop_on_new_order"):
        # The loop's callbacks that read the study's attributes after each trial: timed as they are made.
        def watched(options: Any, _make: Any = order_watch.stop_on_new_order) -> list[Any]:
            callbacks = SimpleNamespace(**{f"c{i}": c for i, c in enumerate(_make(options))})
            for name in vars(callbacks):
                ledger.wrap(callbacks, name, "new set-up?")
            return list(vars(callbacks).values())

        loop.stop_on_new_order = watched
    ledger.wrap(gc, "collect", "gc")
    ledger.wrap(time, "sleep", "sleep")
    # Our attribute writes, under every name they are imported by.
    for module in list(sys.modules.values()):
        for name in ("set_user_attrs", "save_trial_start"):
            if module is not None and module.__name__.startswith("mammosearch") and callable(getattr(module, name, None)):
                if getattr(module, name) is getattr(record, name, None):
                    ledger.wrap(module, name, "record")


def measure(trials: int, trial_seconds: float, epochs: int, storage: str) -> dict[str, Any]:
    import optuna

    from mammosearch.search import RunOptions, open_prepared, run_trials

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="trial-overhead-") as tmp:
        root = Path(tmp)
        name = f"trial-overhead-{uuid.uuid4().hex[:6]}"
        space = cluster_sim.space_of(name, trials, epochs, root)
        options = RunOptions(storage_url=storage, results_dir=root / "results", study_name=name, heartbeat=60, trials_per_process=None)
        setup = mp.get_context("fork").Process(target=cluster_sim.setup, args=(space, options))
        setup.start()
        setup.join()
        cluster_sim.install_sleep_runner(trial_seconds, epochs)
        options = cluster_sim.worker_options(options)
        started = time.perf_counter()
        prepared = open_prepared(space, options)
        opening = time.perf_counter() - started
        ledger = Ledger()
        _instrument(ledger)
        ledger.install_sql()
        server = cluster_sim.ServerCpu()
        before = resource.getrusage(resource.RUSAGE_SELF)
        ledger._mark = (time.thread_time(), time.perf_counter())
        started = time.perf_counter()
        run_trials(prepared, space, options, None)
        ledger._charge()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        ran = len(prepared.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    return {
        "trials": ran, "wall": wall, "opening": opening, "keras_imported": "keras" in sys.modules,
        "process_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "server_cpu": server.seconds(), "load": os.getloadavg()[0],
        "cpu": dict(ledger.cpu), "wall_parts": dict(ledger.wall), "sql": {k: dict(v) for k, v in ledger.sql.items()},
    }


def _row(label: str, cpu: float, wall: float, sql: dict[str, int], n: int) -> str:
    return (f"{label:<17} {cpu / n * 1000:>8.1f} {wall / n * 1000:>8.1f} {sql.get('statements', 0) / n:>7.1f} "
            f"{sql.get('commits', 0) / n:>7.1f} {sql.get('connects', 0) / n:>6.2f}")


def show(name: str, result: dict[str, Any]) -> None:
    n = result["trials"] or 1
    print(f"\n{name}: {result['trials']} trials, loop {result['wall']:.1f} s, load average {result['load']:.1f}; "
          f"opening the study {result['opening'] * 1000:.0f} ms; Keras imported: {'yes' if result['keras_imported'] else 'no'}")
    print(f"{'per trial':<17} {'cpu ms':>8} {'wall ms':>8} {'stmts':>7} {'commits':>7} {'conn':>6}")
    parts = list(ORDER) + sorted(set(result["sql"]) - set(ORDER))
    total: dict[str, int] = defaultdict(int)
    for part in parts:
        sql = result["sql"].get(part, {})
        for key, value in sql.items():
            total[key] += value
        if part in result["cpu"] or sql:
            print(_row(part, result["cpu"].get(part, 0.0), result["wall_parts"].get(part, 0.0), sql, n))
    main_cpu = sum(result["cpu"].values())
    print(_row("all (main thread)", main_cpu, sum(result["wall_parts"].values()), total, n))
    overhead = result["wall"] - result["wall_parts"].get("sleep", 0.0)
    print(f"process CPU {result['process_cpu'] / n * 1000:.1f} ms per trial (heartbeat thread included); "
          f"wall not asleep {overhead / n * 1000:.1f} ms per trial"
          + (f"; PostgreSQL server CPU {result['server_cpu'] / n * 1000:.1f} ms per trial" if result["server_cpu"] is not None else ""))


def run_side(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    """This script in a fresh interpreter on the tree at ``src``; its figures."""
    command = [sys.executable, __file__, "--src", str(src), "--json", "--trials", str(args.trials),
               "--trial-seconds", str(args.trial_seconds), "--epochs", str(args.epochs), "--storage", args.storage]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(src)})
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--trial-seconds", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, default=10, help="pruner reports per trial")
    parser.add_argument("--storage", default=os.environ.get("MAMMOSEARCH_TEST_POSTGRES", cluster_sim.DEFAULT_STORAGE))
    parser.add_argument("--base", help="a commit to measure first, in a fresh interpreter, for a side-by-side comparison")
    parser.add_argument("--src", default=str(HERE.parent / "src"), help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.json:
        sys.path.insert(0, args.src)
        print(json.dumps(measure(args.trials, args.trial_seconds, args.epochs, args.storage)))
        return 0
    from_src: Callable[[Path], dict[str, Any]] = lambda src: run_side(src, args)  # noqa: E731
    print(f"{args.trials} trials of {args.trial_seconds:g} s, {args.epochs} reports each, one worker; "
          f"{os.cpu_count()} CPUs on this machine, load average {os.getloadavg()[0]:.1f} before")
    if args.base:
        show(f"base {args.base}", from_src(cluster_sim.checkout(args.base)))
    show("this tree", from_src(HERE.parent / "src"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
