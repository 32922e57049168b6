"""Frozen-backbone passes per image: the linear probe + feature extraction + fine-tuning at 2 cuts, V augmented views.

    python benchmarks/backbone_passes.py                     # this tree, and the merge base with main, side by side
    python benchmarks/backbone_passes.py --base 37548dd      # against another commit
    python benchmarks/backbone_passes.py --views 4 --images 48 --size 64

One study's set-up and first trials, driven through the same functions `run` uses (the
linear probe, then TrialRunner.run for a feature-extraction trial and two fine-tuning
trials at different cuts, all with augmentation on, so each reads V cached views):
shared ImageNet VGG16, synthetic phantoms, a fresh activation cache. It counts the images
that go through the frozen layers from the pixels (``models.cached.feature_model``, the one
entry both versions use) and, in this tree, through the frozen layers between the deepest
cut and a higher one (``models.cut.layers_between``), per image of the set. The goal is
V + 1 passes from the pixels: one per view and one unaugmented.

The base commit runs from a ``git archive`` copy of its ``src/`` in a temporary folder
(this same script, its package first on the path), each version in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO.parent / "shared" / "weights" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"

SPACE = """
study: {{name: passes, sampler: random, pruner: none, n_trials: 3, seed: 0}}
data: {{source: synthetic, n_images: {images}, image_size: {size}, seed: 0}}
model:
  families: [vgg16]
  heads: [gap_dropout]
  input_size: {size}
  weights: {{vgg16: {weights}}}
training:
  epochs: 1
  fine_tune: [false, true]
  fine_tune_epochs: 1
  unfrozen_layers: {{low: 1, high: {deepest}}}
  batch_size: 16
  augmentation_views: {views}
  augmentation: {{flip: true}}
"""


class Counted:
    """A frozen part of the backbone that counts the images it is run on, and the seconds."""

    tally: dict[str, float] = {"pixels": 0, "between": 0, "seconds": 0.0}

    def __init__(self, model: Any, kind: str) -> None:
        self.model, self.kind = model, kind

    def _count(self, x: Any, run: Any) -> Any:
        started = time.perf_counter()
        out = run()
        Counted.tally[self.kind] += len(x)
        Counted.tally["seconds"] += time.perf_counter() - started
        return out

    def __call__(self, x: Any, **kwargs: Any) -> Any:
        return self._count(x, lambda: self.model(x, **kwargs))

    def predict(self, x: Any, **kwargs: Any) -> Any:
        return self._count(x, lambda: self.model.predict(x, **kwargs))


def _instrument() -> None:
    # Replaced where the trial code looks them up when it runs: the models.build face (older
    # trees: the modules models.cached and models.cut).
    try:
        import mammosearch.models.build as cached
        import mammosearch.models.build as cut
    except ImportError:
        import mammosearch.models.cached as cached  # type: ignore[no-redef]
        import mammosearch.models.cut as cut  # type: ignore[no-redef]

    features = cached.feature_model
    cached.feature_model = lambda *a, **k: Counted(features(*a, **k), "pixels")  # type: ignore[assignment]
    if hasattr(cut, "layers_between"):  # only in a tree that derives higher cuts from the deepest one
        between = cut.layers_between
        cut.layers_between = lambda *a, **k: Counted(between(*a, **k), "between")  # type: ignore[assignment]


def measure(images: int, size: int, views: int) -> dict[str, Any]:
    """Run the probe and three trials in this process; the counts and timings as a dict."""
    import dataclasses

    import optuna

    from mammosearch import runtime
    from mammosearch.config import parse_space
    from mammosearch.data import load_image_set, study_folds
    from mammosearch.spec import AugmentationParams, HeadParams, TrialParams
    try:
        from mammosearch.spec import TrialOutcome
    except ImportError:  # before the outcome moved to spec/
        from mammosearch.trial.outcome import TrialOutcome  # type: ignore[no-redef]
    from mammosearch.trial import TrialRunner, linear_probes

    deepest = 8  # VGG16: 8 unfrozen layers = the cut at block3_pool; 4 = block4_pool
    runtime.configure("float32")
    _instrument()
    space = parse_space(SPACE.format(images=images, size=size, views=views, deepest=deepest, weights=WEIGHTS))
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) / "activations"
        data = load_image_set(space.data, space.split, cache_dir=None, checks=space.checks)
        folds = study_folds(data.labels, data.patient_ids, data.splits, None, 0)
        started = time.perf_counter()
        probe = linear_probes(space, data, folds, cache)
        probe_seconds = time.perf_counter() - started
        runner = TrialRunner(space, data, activation_dir=cache)
        base = TrialParams(
            family="vgg16", input_size=size, optimizer="adam", learning_rate=1e-3, batch_size=16, epochs=1,
            augmentation=AugmentationParams(flip=True), weights=str(WEIGHTS), head=HeadParams("gap_dropout", 0.2),
        )
        trials = [("feature extraction", base)] + [
            (f"fine-tuning, {n} layers", dataclasses.replace(base, fine_tune=True, unfrozen_layers=n, fine_tune_learning_rate=1e-5, fine_tune_epochs=1))
            for n in (4, deepest)
        ]
        seconds = {}
        for number, (name, params) in enumerate(trials):
            outcome = TrialOutcome(params=dataclasses.replace(params, seed=number), step_unit=runner.step_unit)
            started = time.perf_counter()
            runner.run(optuna.trial.FixedTrial({}, number=number), outcome)
            seconds[f"{name} (cut {outcome.activation_cut})"] = time.perf_counter() - started
    tally = Counted.tally
    return {
        "pixels_per_image": tally["pixels"] / images, "between_per_image": tally["between"] / images,
        "frozen_seconds": tally["seconds"], "probe_seconds": probe_seconds, "trial_seconds": seconds,
        "probe_auc": probe[0].get("auc") if probe else None,
    }


def run_tree(src: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, __file__, "--json", "--images", str(args.images), "--size", str(args.size), "--views", str(args.views)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{src}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def base_source(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref, "src"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--views", type=int, default=2)
    parser.add_argument("--base", default=None, help="commit to compare with (default: the merge base with main)")
    parser.add_argument("--json", action="store_true", help="measure this process's mammosearch only, print one JSON line")
    args = parser.parse_args()
    if not WEIGHTS.is_file():
        raise SystemExit(f"skipped: the shared VGG16 weights are not at {WEIGHTS}")
    if args.json:
        print(json.dumps(measure(args.images, args.size, args.views)))
        return
    ref = args.base or subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        before = run_tree(base_source(ref, Path(folder)), args)
    after = run_tree(REPO / "src", args)
    print(f"VGG16 (shared ImageNet weights) at {args.size} px, {args.images} synthetic images, {args.views} views; "
          f"probe + feature extraction + fine-tuning at 2 cuts; {os.cpu_count()} CPU cores (shared)")
    print(f"{'':44s}{'base ' + ref[:8]:>16s}{'this tree':>16s}")
    rows = [
        ("frozen passes per image, from the pixels", "pixels_per_image", "{:.0f}"),
        ("  goal: views + 1", None, str(args.views + 1)),
        ("frozen passes per image, between cuts", "between_per_image", "{:.0f}"),
        ("seconds in frozen passes", "frozen_seconds", "{:.1f}"),
        ("linear probe, seconds", "probe_seconds", "{:.1f}"),
    ]
    for label, key, form in rows:
        left, right = (form, form) if key is None else (form.format(before[key]), form.format(after[key]))
        print(f"{label:44s}{left:>16s}{right:>16s}")
    for (name, b), (_, a) in zip(before["trial_seconds"].items(), after["trial_seconds"].items()):
        print(f"{name[:43]:44s}{b:>16.1f}{a:>16.1f}")
    total = [d["probe_seconds"] + sum(d["trial_seconds"].values()) for d in (before, after)]
    print(f"{'set-up + 3 trials, seconds':44s}{total[0]:>16.1f}{total[1]:>16.1f}")


if __name__ == "__main__":
    main()
