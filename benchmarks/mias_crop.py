"""mini-MIAS whole images: plain square resize against crop to the breast + one orientation, at the same pixel count.

    MAMMOSEARCH_DATA=../shared/datasets python benchmarks/mias_crop.py [--size 256] [--trials 6] [--no-search] [--show DIR]

``task: normal_vs_abnormal`` (322 films, 1024 x 1024), the shared ImageNet VGG16, the same
5 folds grouped by woman for every variant:

* **plain**: the film stretched to ``size`` x ``size`` (``data.crop: false, orient: false``);
* **crop square**: cropped to the breast, chest wall left, aspect kept, padded to ``size`` x ``size``;
* **crop rect**: the same crop into a 2:1 portrait rectangle of about the same pixel count
  (``round(size * sqrt 2)`` x ``round(size / sqrt 2)``);
* **crop stretched** (diagnostic): the crop stretched to the square, aspect not kept.

For each: the linear probe (VGG16's globally averaged last block, logistic regression with
the inner-CV regularisation of ``data/baselines.py``), pooled out-of-fold AUC with its
patient-bootstrap CI. The square variants go through the loader (``load_image_set``); the
rectangle through the same ``data/decode/_framing.py`` functions with a rectangular shape. The VGG16
here is ``keras.applications.VGG16`` at the variant's shape with its own ``preprocess_input``
(the gray repeated to three channels), the same for every variant.

Then, unless ``--no-search``, a short search (``mammosearch run``: VGG16 feature extraction,
``--trials`` trials, 5-fold CV) on plain and on crop square, and its BBC-CV estimate.
(A search at a rectangular input size needs ``model.input_size: HxW``, not built yet.)
Figures go to results/bench/mias_crop/figures.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO.parent / "shared" / "weights" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
OUT = REPO / "results" / "bench" / "mias_crop"

DATA = """data:
  source: mias
  task: normal_vs_abnormal
  image_size: {size}
  crop: {crop}
  orient: {crop}
  split: {{validation: 0.2, test: 0.0, seed: 0}}
evaluation: {{cv_folds: 5, seed: 0}}
"""

SEARCH = """study: {{name: {name}, sampler: tpe, pruner: none, n_trials: {trials}, seed: 0, keep_top_k: 1}}
{data}model:
  families: [vgg16]
  heads: [gap_dropout, dense_bn_dropout]
  input_size: {size}
  weights: {{vgg16: {weights}}}
  head: {{dense_units: [32, 64], dropout: {{low: 0.2, high: 0.6}}}}
training:
  learning_rate: {{low: 1.0e-4, high: 3.0e-3, log: true}}
  batch_size: 16
  epochs: 10
  fine_tune: false
  class_weights: true
"""


def _ci(entry: dict | None) -> str:
    if not entry or entry.get("auc") is None:
        return "-"
    ci = entry.get("ci95") or entry.get("auc_ci95")
    return f"{entry['auc']:.3f}" + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if ci else "")


def _space(size: int, crop: bool) -> object:
    from mammosearch.config import parse_space

    text = DATA.format(size=size, crop=str(crop).lower()) + "model: {families: [cnn]}\n"
    return parse_space(text, source="mias_crop", base_dir=REPO)


def _features(images: np.ndarray) -> np.ndarray:
    """VGG16 (shared ImageNet weights) globally averaged last block, at the images' own shape."""
    import keras

    keras.backend.clear_session()
    height, width = images.shape[1:3]
    model = keras.applications.VGG16(include_top=False, weights=str(WEIGHTS), input_shape=(height, width, 3), pooling="avg")
    out = []
    for start in range(0, len(images), 16):
        batch = np.repeat(images[start:start + 16].astype("float32"), 3, axis=3)
        out.append(np.asarray(model.predict_on_batch(keras.applications.vgg16.preprocess_input(batch))))
    return np.concatenate(out)


def _rectangle(sources: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from mammosearch.data.decode import Framing, decode_file, framed_and_fitted

    framing = Framing(crop=True, orient=True)
    return np.stack([framed_and_fitted(decode_file(Path(s), "grayscale"), framing, shape).pixels for s in sources])


def _crop_stretched(sources: np.ndarray, size: int) -> np.ndarray:
    from mammosearch.data.decode import Framing, decode_file, frame, to_square

    framing = Framing(crop=True, orient=True)
    return np.stack([to_square(frame(decode_file(Path(s), "grayscale"), framing).pixels, size) for s in sources])


def _show(folder: Path, variants: dict[str, np.ndarray]) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for index in (0, 1, 57, 150, 208, 300):
        tiles = []
        for images in variants.values():
            tile = np.zeros((max(v.shape[1] for v in variants.values()), images.shape[2] + 8), np.uint8) + 64
            tile[: images.shape[1], : images.shape[2]] = images[index, :, :, 0]
            tiles.append(tile)
        Image.fromarray(np.hstack(tiles)).save(folder / f"variants_{index:03d}.png")


def _search(name: str, size: int, crop: bool, trials: int) -> dict:
    from mammosearch.report import build_report
    from mammosearch.store import load_study

    out = OUT / name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    data = DATA.format(size=size, crop=str(crop).lower())
    space = out / "space.yaml"
    space.write_text(SEARCH.format(name=name, trials=trials, data=data, size=size, weights=WEIGHTS), encoding="utf-8")
    storage = f"sqlite:///{out / 'study.db'}"
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "mammosearch"), "run", "--space", str(space), "--storage", storage, "--results-dir", str(out)], check=True)
    wall = time.perf_counter() - started
    report = build_report(load_study(storage, name), out)
    best = report.best
    val = best.val_metrics if best is not None else None
    return {"trials": report.state_counts, "wall_seconds": round(wall, 1), "best_pooled_oof": {"auc": val.auc if val else None, "ci95": val.auc_ci95 if val else None},
            "bbc_cv": report.bbc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256, help="side of the square; the rectangle has the same pixel count")
    parser.add_argument("--trials", type=int, default=6, help="trials of each short search")
    parser.add_argument("--no-search", action="store_true", help="the linear probes only")
    parser.add_argument("--show", type=Path, default=None, help="write each variant of a few films side by side as PNGs here (never into the repo)")
    args = parser.parse_args()
    os.environ.setdefault("MAMMOSEARCH_DATA", str(REPO.parent / "shared" / "datasets"))

    from mammosearch.data import cross_validation_folds, evaluate_on_folds, load_image_set

    size = args.size
    shape = (round(size * math.sqrt(2)), round(size / math.sqrt(2)))
    started = time.perf_counter()
    plain_space, crop_space = _space(size, False), _space(size, True)
    plain = load_image_set(plain_space.data, plain_space.split, checks=plain_space.checks)  # type: ignore[attr-defined]
    cropped = load_image_set(crop_space.data, crop_space.split, checks=crop_space.checks)  # type: ignore[attr-defined]
    assert np.array_equal(plain.sources, cropped.sources) and np.array_equal(plain.labels, cropped.labels)
    variants = {
        f"plain {size}x{size}": plain.images,
        f"crop square {size}x{size}": cropped.images,
        f"crop rect {shape[0]}x{shape[1]}": _rectangle(plain.sources, shape),
        f"crop stretched {size}x{size}": _crop_stretched(plain.sources, size),
    }
    print(f"decoded and framed 4 variants of {len(plain.labels)} films in {time.perf_counter() - started:.0f} s; "
          f"no breast found in {int((cropped.provenance.crop == 'none_found').sum())}")
    if args.show is not None:
        _show(args.show, variants)
    folds = cross_validation_folds(plain.labels, plain.patient_ids, plain.splits, 5, 0)
    figures: dict = {"size": size, "rectangle": list(shape), "images": len(plain.labels), "abnormal": int(plain.labels.sum()), "probes": {}, "searches": {}}
    for name, images in variants.items():
        started = time.perf_counter()
        result = evaluate_on_folds(_features(images), plain.labels, plain.patient_ids, folds, name)
        assert result is not None
        figures["probes"][name] = {"auc": result["auc"], "ci95": result.get("ci95"), "fold_aucs": result.get("fold_aucs"), "seconds": round(time.perf_counter() - started, 1)}
        print(f"linear probe, {name}: pooled out-of-fold AUC {_ci(figures['probes'][name])} ({figures['probes'][name]['seconds']:.0f} s)")
    if not args.no_search:
        for name, crop in (("plain", False), ("crop_square", True)):
            figures["searches"][name] = found = _search(f"mias_crop_{name}", size, crop, args.trials)
            print(f"search, {name} {size}x{size}: {found['trials']}, {found['wall_seconds'] / 60:.1f} min; best pooled OOF {_ci(found['best_pooled_oof'])}; "
                  f"BBC-CV {_ci(found['bbc_cv'])}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "figures.json").write_text(json.dumps(figures, indent=2, default=str))
    print(f"figures: {OUT / 'figures.json'}")


if __name__ == "__main__":
    main()
