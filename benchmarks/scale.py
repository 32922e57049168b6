"""Larger-than-memory: time and peak memory of a head-only search from 1k to 50k images.

    python benchmarks/scale.py                      # 1k, 5k, 20k, 50k images at 256 px
    python benchmarks/scale.py --sizes 1000 5000    # a quicker look

A pool of phantom PNGs (256 px, ``data/phantoms.py``, a seed per 1,000 images so the
patients differ) is written once under ``--workdir``; each size is a CSV manifest of the
first N of them, so every size decodes real files through the ``csv`` source. Per size,
with a fresh results folder (a cold cache):

1. decoding and caching the set (``load_image_set``, as ``run`` does first);
2. ``mammosearch data inspect``: the data checks (fingerprint, near-duplicates across
   splits, shortcut statistics) on the cached set;
3. ``mammosearch run`` with one trial: a ResNet50 head on cached activations (random
   weights, so it runs offline; the input is ``--input-size`` px so 50k images fit in
   minutes on a CPU), including the activation pass, the linear probe and the reports'
   inputs.

Each command runs as its own process; the peak RSS of its whole process tree (the CLI
and its training child) is sampled every 50 ms with psutil, and so is the peak of its
anonymous memory (``RssAnon``: what the process itself allocated, without the pages of
memory-mapped files, which the kernel can drop at any time). Goal: peak RSS grows by less
than 1 GB from 5k to 50k images, and time per image stays flat.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

PER_SEED = 1000  # images rendered per phantom seed (and per worker task)

SPACE = """
study: {{name: scale, sampler: random, pruner: none, n_trials: 1, seed: 0, keep_top_k: 1}}
data:
  source: csv
  path: {manifest}
  image_size: {image_size}
model:
  families: [resnet50]
  heads: [gap_dropout]
  input_size: {input_size}
  weights: none
training: {{batch_size: 64, epochs: 2, fine_tune: false, augmentation: {{flip: false}}}}
"""


def render_chunk(job: tuple[Path, int, int, int]) -> list[tuple[str, int, str]]:
    """Write ``count`` phantoms of seed ``seed`` as PNGs; their manifest rows."""
    from PIL import Image

    from mammosearch.data import SyntheticSpec, generate_synthetic

    folder, seed, count, size = job
    images, labels, patients = generate_synthetic(SyntheticSpec(n_images=count, image_size=size, seed=seed))
    rows = []
    for i, (image, label, patient) in enumerate(zip(images, labels, patients)):
        name = f"s{seed:03d}/{i:04d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image[:, :, 0]).save(folder / name, compress_level=1)
        rows.append((name, int(label), str(patient)))
    return rows


def image_pool(workdir: Path, n: int, size: int) -> list[tuple[str, int, str]]:
    """The first ``n`` rows of the PNG pool, rendering what is missing."""
    folder = workdir / f"pool_{size}px"
    folder.mkdir(parents=True, exist_ok=True)
    seeds = -(-n // PER_SEED)
    rows: list[tuple[str, int, str]] = []
    missing = [s for s in range(seeds) if not (folder / f"s{s:03d}.done").is_file()]
    if missing:
        started = time.perf_counter()
        with ProcessPoolExecutor(max(1, len(os.sched_getaffinity(0)))) as pool:
            for seed, chunk in zip(missing, pool.map(render_chunk, [(folder, s, PER_SEED, size) for s in missing])):
                (folder / f"s{seed:03d}.rows.json").write_text(json.dumps(chunk))
                (folder / f"s{seed:03d}.done").touch()
        print(f"rendered {len(missing) * PER_SEED} phantom PNGs at {size} px in {time.perf_counter() - started:.0f} s", flush=True)
    for seed in range(seeds):
        rows += [tuple(r) for r in json.loads((folder / f"s{seed:03d}.rows.json").read_text())]  # type: ignore[misc]
    return rows[:n]


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    peak_anon_mb: float


def _anon_bytes(process: psutil.Process) -> int:
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(command: list[str], log: Path) -> Measured:
    """Run ``command``; its wall time and the peaks of its process tree's RSS and anonymous memory."""
    peaks = [0, 0]
    started = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "120"})
        root = psutil.Process(child.pid)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                rss = anon = 0
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    tree = []
                for process in tree:
                    try:
                        rss += process.memory_info().rss
                        anon += _anon_bytes(process)
                    except psutil.NoSuchProcess:
                        pass
                peaks[0], peaks[1] = max(peaks[0], rss), max(peaks[1], anon)
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = child.wait()
        done.set()
        sampler.join()
    if code != 0:
        sys.exit(f"{' '.join(command)} failed with exit code {code}; see {log}")
    return Measured(time.perf_counter() - started, peaks[0] / 2**20, peaks[1] / 2**20)


def trial_seconds(database: Path) -> tuple[float, float]:
    """(trial_seconds, fit_seconds) of the study's one finished trial, read from its SQLite file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        rows = dict(connection.execute(
            "SELECT key, value_json FROM trial_user_attributes WHERE key IN ('trial_seconds', 'fit_seconds')"
        ).fetchall())
    return float(json.loads(rows["trial_seconds"])), float(json.loads(rows["fit_seconds"]))


def measure_size(workdir: Path, rows: list[tuple[str, int, str]], n: int, args: argparse.Namespace) -> dict[str, float]:
    pool = workdir / f"pool_{args.image_size}px"
    manifest = pool / f"manifest_{n}.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "patient_id"])
        writer.writerows(rows[:n])
    run_dir = workdir / f"run_{n}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    space = run_dir / "space.yaml"
    space.write_text(SPACE.format(manifest=manifest, image_size=args.image_size, input_size=args.input_size))
    cli = [sys.executable, "-m", "mammosearch.cli"]
    results = run_dir / "results"
    decode = run_measured([sys.executable, "-c", LOAD.format(space=str(space), cache=str(results / "cache"))], run_dir / "decode.log")
    checks = run_measured([*cli, "data", "inspect", "--space", str(space), "--results-dir", str(results)], run_dir / "inspect.log")
    search = run_measured([*cli, "run", "--space", str(space), "--results-dir", str(results)], run_dir / "run.log")
    trial, fit = trial_seconds(results / "mammosearch.db")
    return {
        "n": n, "decode_s": decode.seconds, "decode_rss_mb": decode.peak_rss_mb,
        "checks_s": checks.seconds, "checks_rss_mb": checks.peak_rss_mb,
        "run_s": search.seconds, "trial_s": trial, "fit_s": fit, "run_rss_mb": search.peak_rss_mb, "run_anon_mb": search.peak_anon_mb,
    }


# Decoding and caching alone (cold cache), as `run` and `data inspect` do it first.
LOAD = """
from pathlib import Path
from mammosearch.config.reader import load_space
from mammosearch.data.loading import load_image_set
space = load_space(Path({space!r}), ())
images = load_image_set(space.data, space.split, cache_dir=Path({cache!r}), checks=space.checks)
print(len(images.labels), "images", images.images.shape)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    parser.add_argument("--image-size", type=int, default=256, help="stored and cached image size (px)")
    parser.add_argument("--input-size", type=int, default=32, help="the model's input size (px)")
    parser.add_argument("--workdir", type=Path, default=Path("results/bench-scale"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = image_pool(args.workdir.resolve(), max(args.sizes), args.image_size)
    measured = []
    for n in sorted(args.sizes):
        result = measure_size(args.workdir.resolve(), rows, n, args)
        measured.append(result)
        print(json.dumps({k: round(v, 1) for k, v in result.items()}), flush=True)
    print("\n| images | decode + cache (s) | per 1k | peak RSS | data checks (s) | peak RSS | run (s) | trial (s) | trial per 1k | peak RSS | peak anon |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in measured:
        k = r["n"] / 1000
        print(f"| {r['n']:,.0f} | {r['decode_s']:.1f} | {r['decode_s'] / k:.2f} | {r['decode_rss_mb']:.0f} MB | {r['checks_s']:.1f} | "
              f"{r['checks_rss_mb']:.0f} MB | {r['run_s']:.1f} | {r['trial_s']:.1f} | {r['trial_s'] / k:.2f} | {r['run_rss_mb']:.0f} MB | "
              f"{r['run_anon_mb']:.0f} MB |")
    by_n = {r["n"]: r for r in measured}
    if 5000 in by_n and 50000 in by_n:
        peak = lambda r: max(r["decode_rss_mb"], r["checks_rss_mb"], r["run_rss_mb"])  # noqa: E731
        growth = peak(by_n[50000]) - peak(by_n[5000])
        print(f"\npeak RSS growth from 5k to 50k images: {growth:+.0f} MB (goal < 1024 MB)")


if __name__ == "__main__":
    main()
