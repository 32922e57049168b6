"""How far a float32 probability moves with the kernels and the batch: the size of SCORE_TOLERANCE.

    python benchmarks/score_drift.py [--weights PATH_TO_VGG16_NOTOP_H5] [--n 32]

Builds three models once (the CNN shape of the search at 64 px; VGG16 at 96 px, with the
ImageNet weights file when given, else random; ResNet50 at 160 px, random, with a head set
so the logits spread over about +-4), saves them, then scores the same N images in a fresh
process per variant: TensorFlow with oneDNN (the reference), with Eigen kernels
(TF_ENABLE_ONEDNN_OPTS=0), with oneDNN limited to SSE4.1, and on JAX when it is installed;
and, in the reference process, one image at a time and in reversed order. Prints the
largest |difference| of each against the reference, batches of 16, next to the tolerance
``apply.agreement.SCORE_TOLERANCE``. A script, not a test: the figures belong to the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

SIZES = {"cnn": 64, "vgg16": 96, "resnet50": 160}
VARIANTS = {
    "oneDNN (reference)": {},
    "Eigen kernels": {"TF_ENABLE_ONEDNN_OPTS": "0"},
    "oneDNN SSE4.1 only": {"ONEDNN_MAX_CPU_ISA": "SSE41"},
    "JAX (XLA)": {"KERAS_BACKEND": "jax"},
}


def build(folder: Path, weights: str | None, n: int) -> None:
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    for name, size in SIZES.items():
        channels = 1 if name == "cnn" else 3
        x = rng.integers(0, 256, (n, size, size, channels)).astype("float32")
        np.save(folder / f"{name}.npy", x)
        image = keras.Input((size, size, channels))
        if name == "cnn":
            y = keras.layers.Rescaling(1 / 255)(image)
            for filters in (16, 32, 64):
                y = keras.layers.MaxPooling2D()(keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(y))
            features = keras.layers.Dense(64, activation="relu")(keras.layers.Flatten()(y))
        else:
            application = keras.applications.VGG16 if name == "vgg16" else keras.applications.ResNet50
            preprocess = keras.applications.vgg16.preprocess_input if name == "vgg16" else keras.applications.resnet50.preprocess_input
            backbone = application(include_top=False, weights=weights if name == "vgg16" else None, input_shape=(size, size, 3))
            features = keras.layers.GlobalAveragePooling2D()(backbone(preprocess(image)))
        # A head that spreads these images' logits to a standard deviation of 2, as a trained one would.
        seen = np.asarray(keras.Model(image, features).predict(x, verbose=0), dtype="float64")
        direction = rng.normal(size=seen.shape[1])
        logits = (seen - seen.mean(0)) @ direction
        scale = 2.0 / logits.std()
        head = keras.layers.Dense(1, activation="sigmoid")
        model = keras.Model(image, head(features))
        head.set_weights([(direction * scale)[:, None].astype("float32"), np.array([-(seen.mean(0) @ direction) * scale], "float32")])
        model.save(folder / f"{name}.keras")


def score(folder: Path, with_layouts: bool) -> dict[str, list[float]]:
    import keras

    def run(model: object, x: np.ndarray, batch: int) -> np.ndarray:
        return np.concatenate([np.asarray(model.predict_on_batch(x[s : s + batch])).reshape(-1) for s in range(0, len(x), batch)])  # type: ignore[attr-defined]

    out: dict[str, list[float]] = {}
    for name in SIZES:
        model = keras.saving.load_model(folder / f"{name}.keras")
        x = np.load(folder / f"{name}.npy")
        out[name] = run(model, x, 16).tolist()
        if with_layouts:
            out[f"{name} alone"] = run(model, x, 1).tolist()
            out[f"{name} reversed"] = run(model, x[::-1], 16)[::-1].tolist()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="VGG16 no-top ImageNet weights file (random weights without it)")
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--score", default=None, help=argparse.SUPPRESS)  # internal: a child process scores into this file
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.score:
        folder = Path(args.score)
        reference = os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow" and not {"TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA"} & set(os.environ)
        (folder / f"scores_{os.getpid()}.json").write_text(json.dumps(score(folder, reference)))
        print(os.getpid())
        return
    from mammosearch.apply import SCORE_TOLERANCE

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, args.weights, args.n)
        results: dict[str, dict[str, list[float]]] = {}
        for variant, env in VARIANTS.items():
            if env.get("KERAS_BACKEND") == "jax" and importlib.util.find_spec("jax") is None:
                continue
            child = subprocess.run([sys.executable, __file__, "--score", tmp], env={**os.environ, **env}, capture_output=True, text=True, check=True)
            results[variant] = json.loads((folder / f"scores_{child.stdout.split()[-1]}.json").read_text())
    reference = results.pop("oneDNN (reference)")
    rows = [(f"{variant}", name, results[variant][name]) for variant in results for name in SIZES]
    rows += [(label, name, reference[f"{name} {layout}"]) for layout, label in (("alone", "oneDNN, one image a batch"), ("reversed", "oneDNN, reversed order"))
             for name in SIZES]
    print(f"{args.n} images each; largest |difference| of the probability against oneDNN in batches of 16 (tolerance {SCORE_TOLERANCE:g})")
    for variant, name, scores in rows:
        diff = np.abs(np.array(scores) - np.array(reference[name]))
        print(f"{variant:28s} {name:9s} {diff.max():.2e}   bit-equal {int((diff == 0).sum())}/{len(diff)}")


if __name__ == "__main__":
    main()
