"""The README's main job side by side: `mammosearch run` (built-in demo) at a base commit and here.

    python benchmarks/demo_vs.py --base 8c78ced --pairs 3
    python benchmarks/demo_vs.py --base 8c78ced --head 98403de --pairs 3   # two commits
    python benchmarks/demo_vs.py --stages-only                             # only the breakdown

Each side runs in a fresh folder with ``PYTHONPATH`` pointing at its own ``src`` (a commit is
checked out with ``git worktree add --detach`` under /tmp), alternating base and head so a
load that comes and goes hits both. Prints every pair, the median head/base ratio, and a
median CPU-time ratio (steadier than wall time when other processes share the cores), and a
per-stage breakdown of one more head run: start-up (imports), each set-up stage, each
trial (the trial's wall time, its `fit` share and the rest: build, trace, scoring,
saving). Other processes sharing the CPU move the absolute figures; the ratio of
alternating pairs is what to compare.

Per-trial sampler seeding means the two sides need not train the same trials (another
family, a trial pruned on one side only), so each pair says whether they did, and the
trials of all pairs are compared by kind (family and state): the median seconds of a
trial of each kind on each side, and the head's trial time against what the base's
medians would cost for the head's own mix of trials.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = "import sys; from mammosearch.cli import app; sys.argv[0] = 'mammosearch'; app()"

# Run inside the head's interpreter: wrap the set-up stages with timers, then run the demo.
# Only names that exist are wrapped, so the same probe works on an older tree (it says which it found).
PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import importlib
timings = {}
def wrap(module_name, attr, label):
    try:
        module = importlib.import_module(module_name)
        original = getattr(module, attr)
    except (ImportError, AttributeError):
        return
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            timings.setdefault(label, []).append(time.perf_counter() - start)
    setattr(module, attr, timed)
    for other in list(sys.modules.values()):  # names imported with `from x import f` before we wrapped
        if other is not None and getattr(other, attr, None) is original and other is not module:
            setattr(other, attr, timed)
from mammosearch.cli import app
timings["start-up: import mammosearch.cli"] = [time.perf_counter() - t0]
STAGES = [
    ("mammosearch.search.study", "preflight", "set-up: preflight (sampler, weights, load data)"),
    ("mammosearch.search.study", "cached_fingerprint", "set-up: data fingerprint"),
    ("mammosearch.search.study", "settle_space", "set-up: space check"),
    ("mammosearch.search.study", "open_study", "set-up: open/create study"),
    ("mammosearch.search.study", "_trivial_baseline", "set-up: trivial baseline"),
    ("mammosearch.search.study", "record_context", "set-up: record context (incl. baseline)"),
    ("mammosearch.search.study", "setup_study", "set-up: total"),
    ("mammosearch.search.study", "prepare", "set-up: total"),
    ("mammosearch.study", "prepare", "set-up: total"),  # older trees
    ("mammosearch.study", "preflight", "set-up: preflight (sampler, weights, load data)"),  # 8c78ced
    ("mammosearch.study", "open_study", "set-up: open/create study"),
    ("mammosearch.study", "record_context", "set-up: record context (incl. baseline)"),
    ("mammosearch.search.loop", "record_linear_probes", "set-up: linear probes"),
    ("mammosearch.search.loop", "run_trials", "trial loop: total"),
    ("mammosearch.study", "run_trials", "trial loop: total"),  # older trees
    ("mammosearch.search.loop", "assemble_pending", "after trials: assemble kept heads"),
    ("mammosearch.study", "assemble_pending", "after trials: assemble kept heads"),
    ("mammosearch.kept_models", "assemble_pending", "after trials: assemble kept heads"),  # 8c78ced
    ("mammosearch.search.run", "record_run_end", "after trials: record run end"),
]
# Modules that import Keras are wrapped only once runtime.configure has imported it, so the
# probe does not move the TensorFlow import out of the run it measures.
LATE = [
    ("mammosearch.models.registry", "build_model", "  in trials: build models"),
    ("mammosearch.models.builders", "build_model", "  in trials: build models"),  # 8c78ced
    ("mammosearch.training", "fit_two_phase", "  in trials: fit (Keras fit, trace included)"),
    ("mammosearch.training", "predict_scores", "  in trials: scoring test/val"),
    ("mammosearch.trial.training", "fit_two_phase", "  in trials: fit (Keras fit, trace included)"),
    ("mammosearch.trial.fit._training", "fit_two_phase", "  in trials: fit (Keras fit, trace included)"),  # since the faces
    ("mammosearch.trial.activations", "extract", "  in trials: activation passes (cache misses)"),
    ("mammosearch.activations", "extract", "  in trials: activation passes (cache misses)"),
    ("mammosearch.trial.training", "predict_scores", "  in trials: scoring test/val"),
    ("mammosearch.trial.fit._training", "predict_scores", "  in trials: scoring test/val"),  # since the faces
    ("mammosearch.search.objective", "keep_if_top_k", "  in trials: keep top-k (save model, predictions)"),
    ("mammosearch.search._objective", "keep_if_top_k", "  in trials: keep top-k (save model, predictions)"),  # since the faces
    ("mammosearch.store.record", "save", "  in trials: record outcome in storage"),
    ("mammosearch.trial.sampling", "sample_params", "  in trials: sample params"),
]
for module_name, attr, label in STAGES:
    wrap(module_name, attr, label)
import mammosearch.runtime as _runtime
_configure = _runtime.configure
def _configure_then_wrap(*args, **kwargs):
    start = time.perf_counter()
    try:
        return _configure(*args, **kwargs)
    finally:
        timings.setdefault("runtime.configure (rest of the TensorFlow import, threads)", []).append(time.perf_counter() - start)
        if not timings.get("_late_done"):
            for module_name, attr, label in LATE:
                wrap(module_name, attr, label)
            _count_traces()
        timings["_late_done"] = [0.0]
def _count_traces():
    # Each Python execution of a model's train step is a trace of it (Keras' fit runs the
    # traced graph after that): how many, and their Python share of the trace.
    try:
        from keras.src.backend.tensorflow.trainer import TensorFlowTrainer
    except ImportError:
        return
    step = TensorFlowTrainer.train_step
    def traced(self, data):
        start = time.perf_counter()
        try:
            return step(self, data)
        finally:
            timings.setdefault("    in fits: train-step traces (Python part of tracing)", []).append(time.perf_counter() - start)
    TensorFlowTrainer.train_step = traced
_runtime.configure = _configure_then_wrap
for other in list(sys.modules.values()):
    if other is not None and getattr(other, "configure", None) is _configure and other is not _runtime:
        setattr(other, "configure", _configure_then_wrap)
t_run = time.perf_counter()
try:
    app(["run"], standalone_mode=False)
finally:
    timings["run command (after imports)"] = [time.perf_counter() - t_run]
    with open(sys.argv[1], "w") as out:
        json.dump(timings, out)
"""


def checkout(commit: str) -> Path:
    """A detached worktree of ``commit`` under /tmp (made once, reused)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", commit], check=True, capture_output=True, text=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"mammosearch-{sha[:10]}"
    if not (path / "src").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), sha], check=True, capture_output=True)
    return path


Trial = tuple[int, str, str, float, float]  # number, family, state, wall seconds, fit seconds


def run_demo(tree: Path) -> tuple[float, float, list[Trial]]:
    """The demo's wall time (process start to exit), its CPU time, and the trials it ran (read from its storage after).

    CPU time (user + system, all threads) moves far less than wall time when other
    processes take the cores: on a shared machine it is the steadier of the two ratios.
    """
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    with tempfile.TemporaryDirectory() as folder:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", RUN, "run"], cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu, _trial_times(Path(folder) / "results" / "mammosearch.db")


def _kinds(trials: list[Trial]) -> list[tuple[str, str]]:
    return [(family, state) for _, family, state, _, _ in trials]


def compare_trials(base_runs: list[list[Trial]], head_runs: list[list[Trial]]) -> None:
    """Trial seconds by kind (family, state) on each side, and the head's time at the base's prices."""
    def by_kind(runs: list[list[Trial]]) -> dict[tuple[str, str], list[float]]:
        kinds: dict[tuple[str, str], list[float]] = {}
        for run in runs:
            for _, family, state, wall, _ in run:
                kinds.setdefault((family, state), []).append(wall)
        return kinds

    base, head = by_kind(base_runs), by_kind(head_runs)
    print("trial seconds by kind, all pairs (median; n = trials of that kind):")
    for kind in sorted(set(base) | set(head)):
        b, h = base.get(kind, []), head.get(kind, [])
        fb = f"{statistics.median(b):5.2f} s (n={len(b)})" if b else "   -         "
        fh = f"{statistics.median(h):5.2f} s (n={len(h)})" if h else "   -"
        ratio = f"  ratio {statistics.median(h) / statistics.median(b):.2f}" if b and h else ""
        print(f"  {kind[0]:<9} {kind[1]:<9} base {fb}  head {fh}{ratio}")
    priced = [(wall, statistics.median(base[(family, state)])) for run in head_runs for _, family, state, wall, _ in run if (family, state) in base]
    if priced:
        print(f"head's trials against the base's median for the same kind of trial: {sum(w for w, _ in priced) / sum(p for _, p in priced):.2f} "
              f"({len(priced)} trials; the trial time alone, at the same mix of trials)")


def stages(tree: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "timings.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", PROBE, str(out)], cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        timings = json.loads(out.read_text())
        report = subprocess.run([sys.executable, "-c", RUN, "report", "--format", "json"], cwd=folder, env=env,
                                check=True, capture_output=True, text=True)
        db = Path(folder) / "results" / "mammosearch.db"
        trials = _trial_times(db)
    print(f"\nwhere the time goes ({tree}): {wall:.1f} s wall, process start to exit")
    for label, values in timings.items():
        if label.startswith("_"):
            continue
        calls = f" ({len(values)} calls)" if len(values) > 1 else ""
        print(f"  {label:<55} {sum(values):6.1f} s{calls}")
    print("  per trial (wall from the storage's start/complete times; fit = build + trace + fit of fit_fold; other = scoring, saving, recording):")
    for number, family, state, trial_s, fit_s in trials:
        print(f"    trial {number:>2} {family:<9} {state:<9} {trial_s:6.1f} s  fit {fit_s:6.1f} s  other {trial_s - fit_s:5.1f} s")
    print(f"  trials in all: {sum(t[3] for t in trials):.1f} s, of which fit {sum(t[4] for t in trials):.1f} s")
    del report


def _trial_times(db: Path) -> list[Trial]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{db}"
    name = optuna.get_all_study_names(storage)[0]
    rows = []
    for trial in optuna.load_study(study_name=name, storage=storage).trials:
        attrs = trial.user_attrs
        params = attrs.get("params") or {}
        params = json.loads(params) if isinstance(params, str) else params
        # Fine-tuning trials cost more (a cut of their own, two phases): a kind of their own.
        family = params.get("family", "?") + ("+ft" if params.get("fine_tune") else "")
        # The trial's wall time as the storage saw it (also for pruned trials, which record no trial_seconds).
        wall = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete and trial.datetime_start else 0.0
        rows.append((trial.number, family, trial.state.name.lower(), wall, float(attrs.get("fit_seconds") or 0)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", default="8c78ced")
    parser.add_argument("--head", default=None, help="a commit; default: this working tree")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--stages-only", action="store_true")
    args = parser.parse_args()
    head = ROOT if args.head is None else checkout(args.head)
    print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f} (other processes share the CPU)")
    if not args.stages_only:
        base = checkout(args.base)
        ratios, cpu_ratios = [], []
        base_runs, head_runs = [], []
        for i in range(args.pairs):
            load = os.getloadavg()[0]
            b, b_cpu, base_trials = run_demo(base)
            h, h_cpu, head_trials = run_demo(head)
            ratios.append(h / b)
            cpu_ratios.append(h_cpu / b_cpu)
            base_runs.append(base_trials)
            head_runs.append(head_trials)
            same = "the same trials" if _kinds(base_trials) == _kinds(head_trials) else "different trials (per-trial seeds: see the table below)"
            print(f"pair {i + 1}: base {args.base} {b:.1f} s, head {args.head or 'working tree'} {h:.1f} s, ratio {h / b:.2f} "
                  f"(load {load:.2f} before, {os.getloadavg()[0]:.2f} after); cpu time base {b_cpu:.1f} s, head {h_cpu:.1f} s, "
                  f"ratio {h_cpu / b_cpu:.2f}; {same}", flush=True)
        print(f"median ratio head/base: {statistics.median(ratios):.2f} over {args.pairs} pairs "
              f"(each: {', '.join(f'{r:.2f}' for r in ratios)})")
        print(f"median cpu-time ratio head/base: {statistics.median(cpu_ratios):.2f} (each: {', '.join(f'{r:.2f}' for r in cpu_ratios)})")
        compare_trials(base_runs, head_runs)
    stages(head)
    if not args.stages_only:
        stages(base)


if __name__ == "__main__":
    main()
