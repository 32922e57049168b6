"""One batch's memory: the analytic estimate (models/memory.py) against the measured peak resident-set growth.

    python benchmarks/batch_memory.py            # the default cases, CPU
    python benchmarks/batch_memory.py --quick    # two small cases

Each measurement runs in a fresh process: build the model (random weights), compile it,
make the batch, note the resident set, run one batch (a training step with
``train_on_batch``, or a frozen pass called eagerly as ``trial/activations.forward`` does),
and take the peak resident set (``ru_maxrss``) minus the one noted. Two batch sizes per
case also give the measured cost of one more image (the slope), which is what capping the
batch size relies on; the intercept holds the backend's own set-up of the step as well.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from typing import Any

# (family, height, width, what runs, batch sizes). A rectangular size is measured at the
# square of equal pixel count until the model families take a height and a width.
CASES = [
    ("cnn", 724, 724, "train", (2, 4)),
    ("vgg16", 256, 256, "train", (2, 4)),
    ("vgg16", 724, 724, "frozen", (2, 4)),
    ("resnet50", 362, 362, "frozen", (2, 4)),
    ("vgg16", 724, 724, "train above block4_pool", (2, 4)),
]
QUICK = [("cnn", 256, 256, "train", (2, 4)), ("vgg16", 256, 256, "frozen", (2, 4))]


def _model(family: str, size: int) -> Any:
    from mammosearch.models import build_model
    from mammosearch.spec import AugmentationParams, CnnParams, HeadParams, TrialParams

    params = TrialParams(
        family=family, input_size=size, optimizer="adam", learning_rate=1e-3, batch_size=2, epochs=1,
        augmentation=AugmentationParams(), cnn=CnnParams(16, 3, 32, 0.2) if family == "cnn" else None,
        head=None if family == "cnn" else HeadParams("gap_dropout", 0.2),
    )
    return build_model(params, 1)


def estimate(family: str, size: int, what: str) -> Any:
    from mammosearch.models import memory
    from mammosearch.models.build import backbone_of, deepest_cut

    model = _model(family, size)
    layers = memory.footprints(model)
    pixels = memory.input_elements(model)
    if what == "train":
        return memory.training(layers, pixels)
    if what == "frozen":
        below, _ = memory.split_at(layers, deepest_cut(backbone_of(model), None))
        return memory.inference(below, pixels)
    cut = what.rsplit(" ", 1)[-1]
    below, above = memory.split_at(layers, cut)
    return memory.training(above, below[-1].elements)


def measure_one(family: str, size: int, what: str, batch: int) -> int:
    """Peak resident-set growth (bytes) of one batch, in this process."""
    import keras
    import numpy as np
    import psutil

    from mammosearch import runtime
    from mammosearch.models.build import backbone_of, deepest_cut, feature_model, freeze_backbone, trainer_model, unfreeze_top_layers
    from mammosearch.trial.fit import compile_model

    runtime.configure("float32")
    model = _model(family, size)
    x = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 1)).astype("float32")
    y = np.zeros((batch,), dtype="float32")
    if what == "frozen":
        extractor = feature_model(model, deepest_cut(backbone_of(model), None))
        before = psutil.Process().memory_info().rss
        extractor(x, training=False)
    else:
        if what == "train" and family != "cnn":
            unfreeze_top_layers(model, len(backbone_of(model).layers) - 1)  # the whole backbone trains, as the estimate assumes
        if what != "train":
            cut = what.rsplit(" ", 1)[-1]
            features = feature_model(model, cut)(x, training=False)
            x = np.asarray(keras.ops.convert_to_numpy(features))
            freeze_backbone(model)
            unfreeze_top_layers(model, 4)
            model = trainer_model(model, cut, tuple(x.shape[1:]))
        compile_model(model, "adam", 1e-3)
        before = psutil.Process().memory_info().rss
        model.train_on_batch(x, y)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", nargs=4, metavar=("FAMILY", "SIZE", "WHAT", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        family, size, what, batch = args.one
        print(json.dumps(measure_one(family, int(size), what, int(batch))))
        return
    from mammosearch import runtime

    runtime.configure("float32")
    mb = 2**20
    print(f"one batch, estimate vs measured peak RSS growth; this CPU machine ({os.cpu_count()} cores, shared), TensorFlow, float32")
    print(f"{'case':44s}{'batch':>6s}{'estimate MB':>13s}{'measured MB':>13s}{'ratio':>7s}")
    for family, height, width, what, batches in QUICK if args.quick else CASES:
        size = int(round((height * width) ** 0.5))
        guess = estimate(family, size, what)
        measured = {}
        for batch in batches:
            done = subprocess.run([sys.executable, __file__, "--one", family, str(size), what, str(batch)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(done.stderr[-2000:])
            measured[batch] = int(done.stdout.strip().splitlines()[-1])
            label = f"{family} {size}x{size} {what}"
            print(f"{label[:43]:44s}{batch:>6d}{guess.at(batch) / mb:>13.0f}{measured[batch] / mb:>13.0f}{guess.at(batch) / max(1, measured[batch]):>7.2f}")
        low, high = batches[0], batches[-1]
        slope = (measured[high] - measured[low]) / (high - low)
        print(f"{'  per image (slope)':44s}{'':>6s}{guess.per_image / mb:>13.0f}{slope / mb:>13.0f}{guess.per_image / max(1.0, slope):>7.2f}")


if __name__ == "__main__":
    main()
