"""Search speed, side by side: five ways to search the same space on the same data and seed.

    python benchmarks/search_speed.py --space benchmarks/spaces/head_only_synthetic.yaml
    MAMMOSEARCH_DATA=../shared/datasets python benchmarks/search_speed.py --space benchmarks/spaces/head_only_mias.yaml
    python benchmarks/search_speed.py --space benchmarks/spaces/head_only_synthetic.yaml \
        --only default kerastuner_hyperband_no_cache --seeds 0 1 2   # (a) KerasTuner as its users run it
    python benchmarks/search_speed.py --space benchmarks/spaces/head_only_synthetic.yaml \
        --only default kerastuner_hyperband --seeds 0 1 2 3 4         # (b) samplers, equal budget, shared cache
    python benchmarks/search_speed.py --space benchmarks/spaces/augmented_synthetic.yaml \
        --only default no_cache                             # cached augmented views vs the full network

Contenders, each in its own child process (so peak RSS is its own), one after another:
  1. mammosearch default: TPE, median pruning, cached activations
  2. mammosearch with the activation cache off
  3. mammosearch with pruning off
  4. KerasTuner Hyperband through `--engine kerastuner` (same epoch budget, same cache):
     the search algorithms compared on equal trial costs
  5. a plain Optuna loop training full Keras models, no pruning, no cache: what a user
     writes by hand (keras.applications + a head + fit, max val AUC)
  6. (opt-in, `--only ... kerastuner_hyperband_no_cache`) KerasTuner Hyperband with the
     cache off: full models every epoch, as KerasTuner trains on its own
Prints a table and writes JSON to results/bench/<space>.json. A script, not a test:
the figures belong to the machine they were measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CONTENDERS = ["default", "no_cache", "no_pruning", "kerastuner_hyperband", "plain_optuna", "kerastuner_hyperband_no_cache"]
KERASTUNER = ("kerastuner_hyperband", "kerastuner_hyperband_no_cache")


# --------------------------------------------------------------------- child side


def _child(name: str, space_path: Path, workdir: Path, extra: list[str]) -> dict:
    """Runs one contender in this (child) process and returns its trials as plain dicts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import optuna

    from mammosearch.config import load_space
    from mammosearch.search import RunOptions, run_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{workdir / 'bench.db'}"
    # Each contender has its own results folder: no one reuses another's cached activations.
    options = RunOptions(storage_url=storage, results_dir=workdir / name, study_name=name)
    started = time.time()
    if name == "plain_optuna":
        trials = _plain_optuna(load_space(space_path, extra), storage, name)
    else:
        cache_off = ["training.cache_activations=false"]
        overrides = {"no_cache": cache_off, "no_pruning": ["study.pruner=none"], "kerastuner_hyperband_no_cache": cache_off}.get(name, [])
        space = load_space(space_path, [*extra, *overrides])
        if name in KERASTUNER:
            from mammosearch.search import run_kerastuner

            run_kerastuner(space, options, "hyperband")
        else:
            run_study(space, options)
        trials = _trials(storage, name)
    # ru_maxrss is KiB on Linux. A run longer than --trials-per-process trains in a recycled
    # grandchild while this process waits: their peaks add up (an upper bound of the tree's).
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return {"name": name, "wall_seconds": time.time() - started, "started": started, "trials": trials, "child_peak_rss_mb": peak}


def _trials(storage: str, name: str) -> list[dict]:
    import optuna

    from mammosearch.store.record import from_user_attrs

    study = optuna.load_study(study_name=name, storage=storage)
    rows = []
    for t in study.get_trials(deepcopy=False):
        outcome = from_user_attrs(t.user_attrs)
        rows.append({
            "ci95": outcome.val_metrics.auc_ci95 if outcome.val_metrics else None,
            "training_path": outcome.training_path,
            "state": t.state.name.lower(),
            "value": t.value,
            "best_intermediate": max(t.intermediate_values.values()) if t.intermediate_values else None,
            "epochs": len(t.intermediate_values) if t.intermediate_values else t.user_attrs.get("epochs_trained", 0),
            "end": t.datetime_complete.timestamp() if t.datetime_complete else None,
            "overhead": (t.user_attrs["trial_seconds"] - t.user_attrs["fit_seconds"]) if "fit_seconds" in t.user_attrs else None,
            "trial_seconds": t.user_attrs.get("trial_seconds"),
        })
    return rows


def _plain_optuna(space, storage: str, name: str) -> list[dict]:
    """The hand-written baseline: no mammosearch objective, no pruning, no cache."""
    import keras
    import numpy as np
    import optuna

    from mammosearch.data import load_image_set

    data = load_image_set(space.data, space.split)
    train, val = data.subset("train"), data.subset("val")
    x_train = np.repeat(train.images.astype("float32"), 3, axis=-1)
    x_val = np.repeat(val.images.astype("float32"), 3, axis=-1)
    size = x_train.shape[1]

    def objective(trial: optuna.Trial) -> float:
        keras.backend.clear_session()
        family = trial.suggest_categorical("family", list(space.model.families))
        head = trial.suggest_categorical("head", list(space.model.heads))
        lr = trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True)
        dropout = trial.suggest_float("head_dropout", 0.2, 0.5)
        app = {"vgg16": keras.applications.VGG16, "resnet50": keras.applications.ResNet50}[family]
        prep = {"vgg16": keras.applications.vgg16.preprocess_input, "resnet50": keras.applications.resnet50.preprocess_input}[family]
        base = app(include_top=False, weights=None, input_shape=(size, size, 3))
        base.trainable = False
        inputs = keras.Input((size, size, 3))
        x = base(keras.layers.Lambda(prep)(inputs), training=False)
        if head == "dense_bn_dropout":
            x = keras.layers.Flatten()(x)
            x = keras.layers.Dense(trial.suggest_categorical("head_dense_units", [64, 128]), activation="relu")(x)
            x = keras.layers.BatchNormalization()(x)
        else:
            x = keras.layers.GlobalAveragePooling2D()(x)
        x = keras.layers.Dropout(dropout)(x)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
        model.compile(keras.optimizers.Adam(lr), "binary_crossentropy", metrics=[keras.metrics.AUC(name="auc")])
        epochs = int(space.training.epochs.value)
        history = model.fit(x_train, train.labels, validation_data=(x_val, val.labels), epochs=epochs,
                            batch_size=int(space.training.batch_size.value), verbose=0)
        for step, value in enumerate(history.history["val_auc"]):
            trial.report(value, step)
        return float(max(history.history["val_auc"]))

    study = optuna.create_study(storage=storage, study_name=name, direction="maximize", sampler=optuna.samplers.TPESampler(seed=space.study.seed))
    study.optimize(objective, n_trials=space.study.n_trials)
    return _trials(storage, name)


# -------------------------------------------------------------------- parent side


def _run_child(name: str, space: Path, workdir: Path, extra: list[str]) -> dict:
    out = workdir / f"{name}.json"
    code = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, %r); import search_speed as s; "
        "r = s._child(%r, Path(%r), Path(%r), %r); Path(%r).write_text(json.dumps(r))" % (str(HERE), name, str(space), str(workdir), extra, str(out))
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(out.read_text())
    result["peak_rss_mb"] = result["child_peak_rss_mb"]
    return result


def best_value(result: dict) -> float | None:
    return max((t["value"] for t in result["trials"] if t["state"] == "complete" and t["value"] is not None), default=None)


def best_ci(result: dict) -> str | None:
    """The 95% patient-bootstrap interval of the best trial's validation AUC, as text."""
    done = [t for t in result["trials"] if t["state"] == "complete" and t["value"] is not None]
    if not done:
        return None
    ci = max(done, key=lambda t: t["value"]).get("ci95")
    return None if not ci else f"{ci[0]:.3f}-{ci[1]:.3f}"


def time_to_reach(result: dict, target: float | None) -> float | None:
    """Seconds from the contender's start until a complete trial first scored ``target`` or more."""
    for t in sorted((t for t in result["trials"] if t["end"] is not None), key=lambda t: t["end"]):
        if t["state"] == "complete" and target is not None and t["value"] is not None and t["value"] >= target - 1e-12:
            return t["end"] - result["started"]
    return None


def summarise(results: list[dict]) -> tuple[list[dict], str, float | None]:
    bests = {r["name"]: best_value(r) for r in results}
    slowest = max(results, key=lambda r: r["wall_seconds"])
    target = bests[slowest["name"]]
    rows = []
    for r in results:
        trials = r["trials"]
        reached = time_to_reach(r, target)
        overheads = [t["overhead"] for t in trials if t["overhead"] is not None]
        shares = [t["overhead"] / t["trial_seconds"] for t in trials if t["overhead"] is not None and t["trial_seconds"]]
        rows.append({
            "contender": r["name"],
            "wall_s": round(r["wall_seconds"], 1),
            "complete": sum(t["state"] == "complete" for t in trials),
            "pruned": sum(t["state"] == "pruned" for t in trials),
            "failed": sum(t["state"] == "fail" for t in trials),
            "epochs": int(sum(t["epochs"] or 0 for t in trials)),
            "best_val_auc": None if bests[r["name"]] is None else round(bests[r["name"]], 4),
            "best_ci95": best_ci(r),
            "time_to_target_s": None if reached is None else round(reached, 1),
            "peak_rss_mb": round(r["peak_rss_mb"]),
            "overhead_per_trial_s": round(sum(overheads) / len(overheads), 2) if overheads else None,
            "overhead_share": round(sum(shares) / len(shares), 3) if shares else None,
        })
    return rows, slowest["name"], target


def speedup_by_trial_count(fast: dict, slow: dict) -> list[tuple[int, float, float]]:
    """(k, seconds the slow contender needed for its first k trials, the fast one's): the cache's
    fixed cost (one activation pass per family) is paid up front, so the ratio grows with k."""
    def finish_times(result: dict) -> list[float]:
        return sorted(t["end"] - result["started"] for t in result["trials"] if t["end"] is not None)

    fast_ends, slow_ends = finish_times(fast), finish_times(slow)
    n = min(len(fast_ends), len(slow_ends))
    marks = sorted({k for k in (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128) if k <= n} | {n})
    return [(k, slow_ends[k - 1], fast_ends[k - 1]) for k in marks]


def kerastuner_comparison(results: list[dict], contender: str = "kerastuner_hyperband") -> dict | None:
    """When the default first matches a KerasTuner contender's best validation AUC, as a share of its wall time."""
    by_name = {r["name"]: r for r in results}
    if "default" not in by_name or contender not in by_name:
        return None
    kt, default = by_name[contender], by_name["default"]
    kt_best = best_value(kt)
    reached = time_to_reach(default, kt_best)
    return {
        "kerastuner_best": kt_best,
        "kerastuner_wall_s": kt["wall_seconds"],
        "default_best": best_value(default),
        "default_reached_s": reached,
        "share_of_kerastuner_wall": None if reached is None else reached / kt["wall_seconds"],
    }


# (a) Against KerasTuner as its users run it (full models every epoch): the default must
# reach Hyperband's best in at most this share of Hyperband's wall time, in every seed.
RACE_SHARE = 0.1


def summarise_seeds(runs: list[dict]) -> None:
    """The KerasTuner comparisons over seeds: (a) the race against full-model Hyperband,
    (b) best AUC at an equal trial budget on the shared cached objective (mean and spread)."""
    found = [r["kerastuner_comparison"]["kerastuner_hyperband_no_cache"] for r in runs if "kerastuner_hyperband_no_cache" in r["kerastuner_comparison"]]
    if found:
        shares = [c["share_of_kerastuner_wall"] for c in found]
        met = sum(s is not None and s <= RACE_SHARE for s in shares)
        shown = ", ".join("never" if s is None else f"{s:.3f}" for s in shares)
        print(f"\n(a) against KerasTuner Hyperband training full models: default reached its best within {RACE_SHARE} of its wall time "
              f"in {met} of {len(found)} seed(s); shares: {shown}")
    pairs = [(row["best_val_auc"], other["best_val_auc"]) for r in runs for row in r["rows"] if row["contender"] == "default"
             for other in r["rows"] if other["contender"] == "kerastuner_hyperband"]
    if len(pairs) > 1:
        ours, theirs = (np.asarray([p[i] for p in pairs], dtype=float) for i in (0, 1))
        print(f"(b) best val AUC at an equal trial budget on the shared cached objective, {len(pairs)} seeds: "
              f"default {ours.mean():.4f} (sd {ours.std(ddof=1):.4f}, {ours.min():.4f}-{ours.max():.4f}), "
              f"KerasTuner Hyperband {theirs.mean():.4f} (sd {theirs.std(ddof=1):.4f}, {theirs.min():.4f}-{theirs.max():.4f}); "
              f"default higher in {int((ours > theirs).sum())}, equal in {int((ours == theirs).sum())}")


def print_table(rows: list[dict]) -> None:
    header = list(rows[0])
    print(" | ".join(header))
    for row in rows:
        print(" | ".join("-" if row[h] is None else str(row[h]) for h in header))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", type=Path, required=True)
    parser.add_argument("--only", nargs="*", choices=CONTENDERS, default=CONTENDERS[:5])
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="KEY=VALUE", help="space overrides, as `mammosearch run --set`")
    parser.add_argument("--seeds", nargs="*", type=int, default=None, help="repeat the run once per search seed (study.seed)")
    parser.add_argument("--results-dir", type=Path, default=Path("results"))
    args = parser.parse_args()
    space = args.space.resolve()
    runs = []
    for seed in args.seeds if args.seeds else [None]:
        extra = [*args.overrides, *([] if seed is None else [f"study.seed={seed}"])]
        results = []
        with tempfile.TemporaryDirectory() as folder:
            for name in args.only:
                print(f"running {name}{'' if seed is None else f' (seed {seed})'} ...", flush=True)
                results.append(_run_child(name, space, Path(folder), extra))
        rows, slowest, target = summarise(results)
        print(f"\nspace: {args.space} {' '.join(extra)}  (target = best val AUC of the slowest contender, {slowest}: {target})")
        print_table(rows)
        by_name = {r["name"]: r for r in results}
        if "default" in by_name and "no_cache" in by_name:
            print("cache speed-up by trials finished (no_cache s / default s):")
            print("  " + ", ".join(f"{k}: {s:.0f}/{f:.0f} = {s / f:.1f}x" for k, s, f in speedup_by_trial_count(by_name["default"], by_name["no_cache"])))
        comparisons = {}
        for contender in KERASTUNER:
            comparison = kerastuner_comparison(results, contender)
            if comparison is None:
                continue
            comparisons[contender] = comparison
            share = comparison["share_of_kerastuner_wall"]
            when = "never" if share is None else f"{comparison['default_reached_s']:.1f} s = {share:.2f} of its {comparison['kerastuner_wall_s']:.1f} s"
            print(f"default reaches {contender}'s best val AUC ({comparison['kerastuner_best']:.4f}) after: {when}")
        runs.append({"seed": seed, "overrides": extra, "rows": rows, "kerastuner_comparison": comparisons, "raw": results})
    summarise_seeds(runs)
    # Overrides and seeds are part of the name, so a variant run does not overwrite the plain one.
    suffix = "".join("_" + "".join(c if c.isalnum() else "_" for c in item.replace("study.", "").replace("training.", "")) for item in args.overrides)
    suffix += "" if not args.seeds else "_seeds_" + "_".join(map(str, args.seeds))
    out = args.results_dir / "bench" / f"{args.space.stem}{suffix}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"space": str(args.space), "overrides": args.overrides, "runs": runs}, indent=2))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
